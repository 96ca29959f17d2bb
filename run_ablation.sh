#!/bin/sh
cd /tmp/e2b_dev/snaps/final && /work/wt-e2b/.venv/bin/python -m benchmarks.ablations --seeds 20 --first-seed 100 --variant-seeds 6 --highdim-seeds 10 --large-seeds 3 --jobs 1 --out /tmp/e2b_dev/ablation_out
