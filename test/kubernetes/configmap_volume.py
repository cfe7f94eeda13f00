"""The kubelet's update of a ConfigMap volume, as the tests that feed
mmrun --policy-dir or the DaemonSet's compile loop need it (the kubelet's
atomic writer): the keys' contents written into a new `..VERSION`
directory, a `..data_tmp` link to it renamed onto `..data`, each key a
link `KEY -> ..data/KEY` (made for a new key, removed for one that left),
the previous directory removed."""
import os
import shutil


def swap(volume, version, files):
    """Brings `volume` (a directory) to `files` ({key: str or bytes})."""
    new = os.path.join(volume, f"..{version}")
    os.makedirs(new)
    for key, content in files.items():
        with open(os.path.join(new, key), "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
    data = os.path.join(volume, "..data")
    old = os.readlink(data) if os.path.islink(data) else None
    os.symlink(f"..{version}", os.path.join(volume, "..data_tmp"))
    os.rename(os.path.join(volume, "..data_tmp"), data)
    for key in files:
        if not os.path.lexists(os.path.join(volume, key)):
            os.symlink(os.path.join("..data", key), os.path.join(volume, key))
    for key in os.listdir(volume):
        if not key.startswith(".") and key not in files:
            os.unlink(os.path.join(volume, key))
    if old:
        shutil.rmtree(os.path.join(volume, old))
