import sys

from moonpy.cli import main

sys.exit(main())
