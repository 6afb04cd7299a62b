"""`invoke rehearse`: a whole environment deployed by Pulumi's real engine into moto's
server on 127.0.0.1, operated by the usual tasks through one switch
(``TRACKING_REHEARSAL=<folder>``, switch.py) and destroyed with ``--down``."""
