"""Notebooks run as Slurm batch jobs in an environment, with parameters (``jupyter hpc-envs submit``).

:mod:`.params` checks parameters and injects them, :mod:`.plan` turns a request into a checked
sbatch script, :mod:`.records` keeps each run on disk and asks Slurm for its state, and
:mod:`.execute` is what the job itself runs: nbclient with the environment's kernel started on the
job's own node through the environment's launch script.
"""
