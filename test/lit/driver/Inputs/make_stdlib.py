# Makes a standard library in DIR for the import tests, with the kernel
# bindings of SOURCE_STDLIB:
#   loops: std/ok.mmp, a symbolic link loop std/loop.mmp -> itself and a
#          directory link std/up -> .. (the case);
#   many:  std/many/m1 .. m70, each importing the next.
import os
import shutil
import sys

kind, root, source = sys.argv[1], sys.argv[2], sys.argv[3]
std = os.path.join(root, "std")
os.makedirs(std, exist_ok=True)
shutil.copytree(os.path.join(source, "bindings"), os.path.join(root, "bindings"))
if kind == "loops":
    with open(os.path.join(std, "ok.mmp"), "w") as f:
        f.write("policy ok\n")
    os.symlink("loop.mmp", os.path.join(std, "loop.mmp"))
    os.symlink("..", os.path.join(std, "up"))
else:
    os.makedirs(os.path.join(std, "many"), exist_ok=True)
    for i in range(1, 71):
        with open(os.path.join(std, "many", f"m{i}.mmp"), "w") as f:
            f.write(f"policy m{i}\n" + (f'import "std/many/m{i + 1}"\n' if i < 70 else ""))
