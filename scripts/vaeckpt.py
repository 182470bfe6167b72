"""The checkpoint reader for scripts, now python/vaebridge (reader and writer, numpy only): this
shim keeps `import vaeckpt` working for scripts/test_vaeckpt.py, make_torch_fixture.py and
bench_onnxruntime.py, with one implementation of the format in Python instead of two.

    python3 scripts/vaeckpt.py FILE      the summary of `python3 -m vaebridge info FILE`
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'python'))
from vaebridge.checkpoint import *  # noqa: E402,F401,F403
from vaebridge.checkpoint import np  # noqa: E402,F401


def main(argv):
    from vaebridge.cli import main as cli
    if len(argv) != 2:
        print('usage: python3 scripts/vaeckpt.py FILE.vaeckpt', file=sys.stderr)
        return 2
    return cli(['info', argv[1]])


if __name__ == '__main__':
    sys.exit(main(sys.argv))
