#ifndef CBUILDREVISION_H
#define CBUILDREVISION_H

// The git revision the binary was built from, for `ftplb --version`. In C because a Swift
// compilation condition can only be set or unset, never carry a string: Package.swift defines
// FTPLB_REVISION for this one file from the environment, so a changed revision recompiles this
// file alone.

/// The revision, such as "4c43725b1d2e" or "4c43725b1d2e-modified"; empty when unknown.
const char *cbuildrevision_revision(void);

#endif
