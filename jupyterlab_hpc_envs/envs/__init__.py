"""Environments: manifests, launch and build scripts, kernelspecs, and the service over them."""
