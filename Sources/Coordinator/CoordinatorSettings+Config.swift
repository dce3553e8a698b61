import Configuration

// cluster.yaml's coordinator and security sections as the machine's settings (the config
// target knows nothing of the machine; the machine reads its config).

extension ClusterConfig.CoordinatorSection {
    /// The coordinator's settings from this section.
    public var settings: CoordinatorSettings {
        var s = CoordinatorSettings()
        s.heartbeatInterval = heartbeatSeconds
        s.workerExpiry = workerExpirySeconds
        s.clientExpiry = clientExpirySeconds
        s.noWorkerTimeout = noWorkerTimeoutSeconds
        s.unitAttempts = unitAttempts
        s.quarantineAfter = quarantineAfter
        s.setDeadlines(factor: unitDeadlineFactor, floor: unitDeadlineFloorSeconds, initial: max(120, unitDeadlineFloorSeconds))
        return s
    }
}

extension ClusterConfig.SecuritySection {
    /// The coordinator's limits and policies from this section.
    public func apply(to settings: inout CoordinatorSettings) {
        settings.verifySetup = verifySetup.map { $0 ? .always : .never } ?? .auto
        settings.revealWorkerHosts = revealWorkerHosts
        settings.maxJobsPerClient = maxJobsPerClient
        settings.maxReferences = maxReferences
    }
}
