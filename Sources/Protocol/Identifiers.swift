import Foundation

/// A ZeroMQ routing id: which peer a frame came from or goes to.
public typealias PeerID = Data
/// A job's number on its coordinator.
public typealias JobID = UInt64
