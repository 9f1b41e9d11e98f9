"""List installed distributions with where each comes from, inside an environment's interpreter.

This file is *run by the environment's own Python* (through the launch script, so with the modules
loaded and the venv active), which may be older than the server's: standard library only, Python
3.8 and newer, no f-string tricks newer than 3.8. It prints one JSON document on stdout.

For every entry of ``sys.path``, in order, it reads the distributions' metadata found there (what
``pip list`` reads, but in one process and without importing pip). The same distribution seen on
two entries is *shadowed*: Python imports the first; the others are reported with ``shadowed_by``.
"""

import json
import os
import site
import sys

try:
    from importlib import metadata
except ImportError:  # pragma: no cover - Python < 3.8 is not supported
    sys.stdout.write(json.dumps({"error": "Python 3.8 or newer is needed to list packages"}))
    sys.exit(0)


def _normalise(name):
    out = []
    last_dash = False
    for ch in name.lower():
        if ch in "-_.":
            if not last_dash:
                out.append("-")
            last_dash = True
        else:
            out.append(ch)
            last_dash = False
    return "".join(out)


def _eb_var(module_name):
    """EasyBuild's EBROOT variable suffix of a module name (SciPy-bundle -> SCIPYMINBUNDLE)."""
    return module_name.upper().replace("-", "MIN").replace("+", "PLUS").replace(".", "")


def _module_roots():
    roots = []
    for module in [m for m in os.environ.get("LOADEDMODULES", "").split(":") if m]:
        name = module.split("/")[0]
        root = os.environ.get("EBROOT" + _eb_var(name))
        if root:
            roots.append((os.path.realpath(root), module))
    # Longest root first, so nested prefixes are matched to the most specific module.
    roots.sort(key=lambda item: len(item[0]), reverse=True)
    return roots


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _classify(entry, roots):
    """Where a sys.path entry comes from: user, venv, module, base (the Python itself), conda."""
    real = os.path.realpath(entry)
    prefix = os.path.realpath(sys.prefix)
    base = os.path.realpath(getattr(sys, "base_prefix", sys.prefix))
    user = ""
    if hasattr(site, "getusersitepackages"):
        user = os.path.realpath(site.getusersitepackages())
    if user and _inside(real, user):
        return "user", None
    if prefix != base and _inside(real, prefix):
        return "venv", None
    for root, module in roots:
        if _inside(real, root):
            return ("base" if _inside(real, base) else "module"), module
    conda = os.environ.get("CONDA_PREFIX")
    if conda and _inside(real, os.path.realpath(conda)):
        return "conda", None
    if _inside(real, base):
        return "base", None
    return "path", None


def _editable(dist):
    try:
        text = dist.read_text("direct_url.json")
    except Exception:  # noqa: BLE001 - broken metadata must not stop the listing
        return None
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    if info.get("dir_info", {}).get("editable"):
        url = info.get("url", "")
        return url[7:] if url.startswith("file://") else url
    return None


def main():
    roots = _module_roots()
    rows = []
    winners = {}
    for order, entry in enumerate(sys.path):
        if not entry or not os.path.isdir(entry):
            continue
        source, module = _classify(entry, roots)
        try:
            found = list(metadata.distributions(path=[entry]))
        except Exception:  # noqa: BLE001 - an unreadable folder is skipped, not fatal
            continue
        seen_here = set()
        for dist in found:
            try:
                name = dist.metadata["Name"]
                version = dist.version
            except Exception:  # noqa: BLE001 - a distribution with broken metadata
                continue
            if not name:
                continue
            key = _normalise(name)
            if key in seen_here:
                continue
            seen_here.add(key)
            row = {
                "name": name,
                "key": key,
                "version": version,
                "location": entry,
                "source": source,
                "module": module,
                "editable": _editable(dist),
                "order": order,
                "shadowed_by": None,
            }
            if key in winners:
                row["shadowed_by"] = winners[key]["location"]
            else:
                winners[key] = row
            rows.append(row)
    sys.stdout.write(
        json.dumps(
            {
                "python": ".".join(str(n) for n in sys.version_info[:3]),
                "prefix": sys.prefix,
                "base_prefix": getattr(sys, "base_prefix", sys.prefix),
                "user_site_enabled": bool(site.ENABLE_USER_SITE),
                "loaded_modules": [m for m in os.environ.get("LOADEDMODULES", "").split(":") if m],
                "packages": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
