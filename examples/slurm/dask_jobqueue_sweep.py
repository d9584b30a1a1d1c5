"""A sweep on SLURM through dask-jobqueue (``pip install "marketsim[cluster]"``).

Run it on a login node (or in a small batch job); it submits worker jobs and drives the sweep:

    python examples/slurm/dask_jobqueue_sweep.py examples/sweeps/screening.toml /scratch/$USER/screening

Every finished run is written to the store at once; if this driver dies, run it again: finished runs
are not recomputed. The same works from the command line with any running scheduler:
``marketsim sweep DESIGN --scheduler tcp://HOST:8786 --out DIR``.
"""

import sys

from dask_jobqueue import SLURMCluster

import marketsim

WALLTIME = "02:00:00"

if __name__ == "__main__":
    design, out = sys.argv[1], sys.argv[2]
    cluster = SLURMCluster(
        cores=1,  # one single-threaded worker per job: runs are independent and numba is single-threaded
        processes=1,
        memory="4GB",
        walltime=WALLTIME,
        # workers retire (their tasks move elsewhere) before SLURM kills them at the walltime
        worker_extra_args=["--lifetime", "110m", "--lifetime-stagger", "5m", "--nthreads", "1"],
        job_script_prologue=[
            "export NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1",
            "export NUMBA_CACHE_DIR=${TMPDIR:-/tmp}/numba-cache-$USER",  # node-local numba cache
        ],
    )
    cluster.adapt(minimum_jobs=1, maximum_jobs=50)
    try:
        tables = marketsim.sweep(design, out=out, scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    print(tables["points"].head())
    print(f"report: {out}/report.html")
