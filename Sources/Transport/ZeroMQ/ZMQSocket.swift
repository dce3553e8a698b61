import CLibZMQ
import Foundation

public struct ZMQError: Error, CustomStringConvertible {
    public let code: Int32
    public let description: String
    package init(_ what: String) {
        code = zmq_errno()
        description = "\(what): \(String(cString: zmq_strerror(code)))"
    }

    /// libzmq's ETERM: the context was shut down (zmq.h: ZMQ_HAUSNUMERO + 53).
    public static let contextTerminated = Int32(ZMQ_HAUSNUMERO) + 53
    public var isContextTerminated: Bool { code == Self.contextTerminated }
}

/// A ZeroMQ context: one per process; inproc:// endpoints only connect sockets of one context.
///
/// `@unchecked Sendable` is safe: libzmq documents contexts as thread-safe (zmq_ctx_new(3):
/// "A ØMQ context is thread safe and may be shared among as many application threads as
/// necessary"), and this class has no mutable state of its own.
public final class ZMQContext: @unchecked Sendable {
    package let handle: UnsafeMutableRawPointer

    public init() {
        handle = zmq_ctx_new()
    }

    deinit { zmq_ctx_term(handle) }

    /// zmq_ctx_shutdown: every blocking call on this context's sockets returns ETERM.
    public func shutdown() { zmq_ctx_shutdown(handle) }
}

/// A ZeroMQ socket, multipart frames as Data. Not Sendable: libzmq sockets are not
/// thread-safe, so a socket is created, used and closed by one thread.
public final class ZMQSocket {
    public enum Kind {
        case dealer, router, pair, rep
        package var value: Int32 {
            switch self {
            case .dealer: return ZMQ_DEALER
            case .router: return ZMQ_ROUTER
            case .pair: return ZMQ_PAIR
            case .rep: return ZMQ_REP
            }
        }
    }

    package let handle: UnsafeMutableRawPointer
    private var closed = false

    public init(_ context: ZMQContext, _ kind: Kind) throws {
        guard let h = zmq_socket(context.handle, kind.value) else { throw ZMQError("zmq_socket") }
        handle = h
        try setInt(ZMQ_LINGER, 0)  // never hang at exit on undelivered messages
    }

    deinit { close() }

    public func close() {
        if !closed { zmq_close(handle); closed = true }
    }

    public func setInt(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else { throw ZMQError("zmq_setsockopt \(option)") }
    }

    public func setInt64(_ option: Int32, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else { throw ZMQError("zmq_setsockopt \(option)") }
    }

    /// Largest message accepted; a peer sending more is disconnected (bounded memory).
    public func setMaxMessageSize(_ bytes: Int64) throws { try setInt64(ZMQ_MAXMSGSIZE, bytes) }

    /// A connection whose peer vanished without a FIN (a cut link, a dead host) is closed
    /// within `timeout` seconds instead of TCP's minutes: ZMTP heartbeats (PING every
    /// `interval`, the peer told to expect them within `timeout`) and TCP keepalive probes
    /// on the same scale. The protocol's own heartbeats decide what a silent peer means; this
    /// only frees the socket's dead pipe so that the next connection starts clean.
    public func setLiveness(interval: Double, timeout: Double) throws {
        let ivl = Int32(max(100, interval * 1000)), ttl = Int32(max(Double(ivl) * 2, timeout * 1000))
        try setInt(ZMQ_HEARTBEAT_IVL, ivl)
        try setInt(ZMQ_HEARTBEAT_TIMEOUT, ttl)
        try setInt(ZMQ_HEARTBEAT_TTL, ttl)
        let seconds = Int32(max(1, (timeout / 3).rounded(.down)))
        try setInt(ZMQ_TCP_KEEPALIVE, 1)
        try setInt(ZMQ_TCP_KEEPALIVE_IDLE, seconds)
        try setInt(ZMQ_TCP_KEEPALIVE_INTVL, seconds)
        try setInt(ZMQ_TCP_KEEPALIVE_CNT, 2)
    }

    /// ROUTER: a send to a peer that is gone is an error, not silently dropped.
    public func setRouterMandatory() throws { try setInt(ZMQ_ROUTER_MANDATORY, 1) }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, EndpointAddress.forBinding(endpoint)) == 0 else { throw ZMQError("cannot bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("cannot connect to \(endpoint)") }
    }

    /// The endpoint actually bound (resolves tcp://127.0.0.1:* to its port).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        return String(cString: buffer)
    }

    /// Frames at least this large (pixel blobs) are lent to ZeroMQ instead of copied: the
    /// coordinator sends an image's pixels with each of its units, and copying them was most
    /// of its time per unit.
    package static let lendingThreshold = 64 << 10

    /// Sends one multipart message. Returns false when it would block (with `dontWait`).
    @discardableResult
    public func send(_ frames: [Data], dontWait: Bool = false) throws -> Bool {
        for (i, frame) in frames.enumerated() {
            var flags: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            let rc = frame.count >= Self.lendingThreshold ? sendLent(frame, flags: flags) : frame.withUnsafeBytes { p -> Int32 in
                zmq_send(handle, p.baseAddress, frame.count, flags)
            }
            if rc < 0 {
                if zmq_errno() == EAGAIN && dontWait && i == 0 { return false }
                throw ZMQError("zmq_send")
            }
        }
        return true
    }

    /// Sends `frame` without copying it: a ZeroMQ message over the frame's bytes that holds a
    /// reference to the frame (a `LentFrame`) until ZeroMQ is done with it, on whichever
    /// thread (the I/O thread after a TCP write; the receiver's, inproc). The bytes stay put:
    /// `LentFrame` holds the only reference this code keeps, never mutates it, and a `Data`
    /// moves its bytes only when mutated (a copy-on-write of a shared buffer moves the writer's
    /// copy, not this one).
    private func sendLent(_ frame: Data, flags: Int32) -> Int32 {
        let lent = Unmanaged.passRetained(LentFrame(frame))
        let bytes = lent.takeUnretainedValue().bytes.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        var msg = zmq_msg_t()
        let release: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, hint in
            Unmanaged<LentFrame>.fromOpaque(hint!).release()
        }
        guard zmq_msg_init_data(&msg, bytes, frame.count, release, lent.toOpaque()) == 0 else {
            lent.release()
            return -1
        }
        let rc = zmq_msg_send(&msg, handle, flags)
        if rc < 0 {
            // Not taken: closing the message releases the frame; the caller reads the send's errno.
            let sendError = errno
            zmq_msg_close(&msg)
            errno = sendError
        }
        return rc
    }

    /// Receives one multipart message, waiting at most `timeoutMs` (nil: forever).
    /// Returns nil on timeout.
    public func receive(timeoutMs: Int? = nil) throws -> [Data]? {
        if let timeoutMs {
            guard try ZMQSocket.poll([self], timeoutMs: timeoutMs).first == true else { return nil }
        }
        var frames: [Data] = []
        repeat {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            guard zmq_msg_recv(&msg, handle, 0) >= 0 else { throw ZMQError("zmq_msg_recv") }
            let size = zmq_msg_size(&msg)
            frames.append(size == 0 ? Data() : Data(bytes: zmq_msg_data(&msg), count: size))
            if zmq_msg_more(&msg) == 0 { break }
        } while true
        return frames
    }

    /// Waits until one of `sockets` has a message or `timeoutMs` passes (-1: forever);
    /// returns which have one. A signal interrupting the wait counts as a timeout.
    public static func poll(_ sockets: [ZMQSocket], timeoutMs: Int) throws -> [Bool] {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        let rc = zmq_poll(&items, Int32(items.count), timeoutMs)
        if rc < 0 {
            if zmq_errno() == EINTR { return sockets.map { _ in false } }
            throw ZMQError("zmq_poll")
        }
        return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}

/// A frame lent to ZeroMQ (`ZMQSocket.sendLent`): kept alive until ZeroMQ's free callback.
private final class LentFrame: Sendable {
    let bytes: Data
    init(_ bytes: Data) { self.bytes = bytes }
}
