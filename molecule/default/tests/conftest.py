"""story.py, the lab helpers this scenario shares with the others, lives in molecule/shared."""
import os
import sys

sys.path.insert(0, os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 os.pardir, os.pardir, "shared")))
