import { fixtureServer } from "./tests/helpers/model_repo.ts";
await using s = await fixtureServer([{ name: "lesion" }]);
const doc = await (await s.app.request("/openapi.json")).json();
Deno.writeTextFileSync("/tmp/dicomx/openapi.json", JSON.stringify(doc, null, 1));
