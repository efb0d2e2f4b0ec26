#include "CBuildRevision.h"

// Set by Package.swift from FTPLB_REVISION (packaging/build-deb.sh exports it); a plain
// `swift build` leaves it unset.
#ifndef FTPLB_REVISION
#define FTPLB_REVISION ""
#endif

const char *cbuildrevision_revision(void) { return FTPLB_REVISION; }
