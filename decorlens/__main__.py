import sys

from decorlens.main import main

sys.exit(main())
