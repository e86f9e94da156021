"""Scripts for the full-scale run on a lent GPU machine (the `device` tool): pack the data
sets into a carry-sized folder, then run a time-budgeted ablation there."""
