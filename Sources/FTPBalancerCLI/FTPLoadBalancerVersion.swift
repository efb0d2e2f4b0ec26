import CBuildRevision

/// What `ftplb --version` prints: the release number, written here and nowhere else
/// (packaging/build-deb.sh reads it back from the built binary), and the git revision the
/// build was made from, when the build was told it.
enum FTPLoadBalancerVersion {
    static let number = "0.9.0"

    /// The git revision, or nil for a build that was not given one (a plain `swift build`).
    static var revision: String? {
        let revision = String(cString: cbuildrevision_revision())
        return revision.isEmpty ? nil : revision
    }

    /// `0.9.0 (revision 4c43725b1d2e)`, or `0.9.0 (revision unknown)`.
    static var description: String {
        "\(Self.number) (revision \(Self.revision ?? "unknown"))"
    }
}
