"""Edge map, key-point selection, graph construction and the anti-collapse guards."""
import torch

from tools.distill import losses
from tools.distill import spatial_kd as sk


def test_edge_map_is_strong_on_object_boundary():
    f = torch.zeros(1, 4, 16, 16)
    f[:, :, 4:12, 4:12] = 3.0
    e = sk.edge_map(f)
    assert e.shape == (1, 1, 16, 16) and 0 <= e.min() and e.max() <= 1
    assert e[0, 0, 8, 3:5].max() > 0.9  # boundary column
    assert e[0, 0, 8, 8] < 0.05 and e[0, 0, 0, 0] < 0.05  # interior and background


def test_keypoints_pick_strongest_edges_after_nms():
    edge = torch.zeros(1, 1, 12, 12)
    peaks = {(1, 1): 0.9, (1, 6): 0.8, (6, 2): 0.7, (9, 9): 0.6, (5, 9): 0.3}
    for (y, x), v in peaks.items():
        edge[0, 0, y, x] = v
    edge[0, 0, 1, 2] = 0.85  # neighbour of the strongest peak: suppressed by NMS
    idx = sk.select_keypoints(edge, k=4)[0].tolist()
    chosen = {(i // 12, i % 12) for i in idx}
    assert chosen == {(1, 1), (1, 6), (6, 2), (9, 9)}


def test_keypoints_fill_up_when_fewer_peaks_than_k():
    edge = torch.rand(2, 1, 6, 6)
    idx = sk.select_keypoints(edge, k=30)
    assert idx.shape == (2, 30)
    assert all(len(set(row.tolist())) == 30 for row in idx)


def test_adjacency_symmetric_normalised_with_self_loops():
    torch.manual_seed(1)
    K = 20
    pos, feat = torch.rand(3, K, 2), torch.randn(3, K, 16)
    A = sk.knn_adjacency(pos, feat, knn=4)
    assert A.shape == (3, K, K)
    assert torch.allclose(A, A.transpose(1, 2), atol=1e-6)
    assert (torch.diagonal(A, dim1=1, dim2=2) > 0).all()
    # recover the binary graph and check A == D^-1/2 (B) D^-1/2
    B = (A > 0).float()
    assert ((B.sum(-1) - 1) >= 4).all()  # every node keeps its 4 neighbours + self
    d = B.sum(-1).rsqrt()
    assert torch.allclose(A, d.unsqueeze(-1) * B * d.unsqueeze(-2), atol=1e-6)
    assert torch.linalg.eigvalsh(A).max() <= 1 + 1e-5


def test_adjacency_prefers_near_and_similar_points():
    pos = torch.tensor([[[0.0, 0.0], [0.05, 0.0], [1.0, 1.0], [0.95, 1.0]]])
    feat = torch.tensor([[[1.0, 0], [1.0, 0.1], [0, 1.0], [0.1, 1.0]]])
    A = sk.knn_adjacency(pos, feat, knn=1)[0]
    assert A[0, 1] > 0 and A[2, 3] > 0 and A[0, 2] == 0 and A[1, 3] == 0


def test_gcn_is_frozen_and_cannot_collapse():
    torch.manual_seed(0)
    d = sk.SpatialDistiller(8, 16, k=16, knn=4)
    assert all(not p.requires_grad for p in d.gcn.parameters())
    before = [p.clone() for p in d.gcn.parameters()]
    t = torch.relu(torch.randn(2, 16, 12, 12))
    s_in = torch.randn(2, 8, 12, 12, requires_grad=True)
    opt = torch.optim.Adam([s_in, *[p for p in d.parameters() if p.requires_grad]], lr=0.05)
    first = d(s_in, t).item()
    for _ in range(60):
        opt.zero_grad()
        loss = d(s_in, t)
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first  # the student moves towards the teacher ...
    for a, b in zip(before, d.gcn.parameters()):
        assert torch.equal(a, b)  # ... while the GCN stays fixed
    # zero embeddings (the trivial solution) are not a minimum: node term 1, relation term > 0
    zero = losses.graph_loss(torch.zeros(2, 16, 8), torch.randn(2, 16, 8))
    assert zero["node"].item() > 0.99 and zero["relation"].item() > 0.05
    # collapse to one constant vector also keeps a positive relation loss
    const = losses.graph_loss(torch.ones(2, 16, 8), torch.randn(2, 16, 8))
    assert const["relation"].item() > 0.05
    # shrinking the student's scale does not change the loss (normalised embeddings)
    z_s, z_t = torch.randn(2, 16, 8), torch.randn(2, 16, 8)
    assert torch.allclose(losses.graph_loss(z_s, z_t)["loss"], losses.graph_loss(1e-3 * z_s, z_t)["loss"], atol=1e-5)
