"""Kernels of HPC environments: the provisioner, kernels as Slurm jobs, their launcher and record.

``provisioner`` (the jupyter_client provisioner, local or Slurm), ``slurm_kernel`` (a kernel as the
one step of a Slurm job), ``slurm_start`` (its start, through the queue), ``slurm_job`` (its phase
and record), ``launcher`` (run on the compute node: standard library only), ``jobs`` (the per-user
record and the shared squeue view), ``resources`` (what a kernel asks Slurm for).
"""
