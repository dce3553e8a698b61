// Wire format of the cluster: filled by the cluster issue (see docs/protocol.md).
public enum WireProtocol { public static let version = 1 }
