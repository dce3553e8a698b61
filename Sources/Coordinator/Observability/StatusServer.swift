import Configuration
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The coordinator's HTTP endpoint (`coordinator.metrics_endpoint`), on one swift-nio event
/// loop thread of its own: `/metrics` (Prometheus' text format), `/status.json` (RackStatus)
/// and `/` (the live status page). Read-only: it answers GET and HEAD, nothing else.
public final class StatusServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The address actually bound (port 0 becomes a free port).
    public let endpoint: MetricsEndpoint

    public init(_ requested: MetricsEndpoint, monitor: RackMonitor) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(StatusHTTPHandler(monitor: monitor))
                }
            }
        do {
            channel = try bootstrap.bind(host: requested.host, port: requested.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw ClusterConfig.ConfigError("coordinator.metrics_endpoint: cannot listen on \(requested): \(error)")
        }
        self.group = group
        endpoint = MetricsEndpoint(host: requested.host, port: channel.localAddress?.port ?? requested.port)
    }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// One HTTP connection: a request's head names the page; its end sends the answer.
final class StatusHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let monitor: RackMonitor
    private var request: HTTPRequestHead?

    init(monitor: RackMonitor) { self.monitor = monitor }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            let page = StatusRoute.answer(method: head.method.rawValue, uri: head.uri, monitor: monitor)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: page.contentType)
            headers.add(name: "Content-Length", value: "\(page.body.count)")
            headers.add(name: "Cache-Control", value: "no-store")
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: page.status), headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: page.body)))), promise: nil)
            }
            let keepAlive = head.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [context] _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}

/// What each path answers (no sockets: tested directly).
enum StatusRoute {
    struct Page: Equatable {
        var status: Int
        var contentType: String
        var body: [UInt8]
    }

    static func answer(method: String, uri: String, monitor: RackMonitor) -> Page {
        guard method == "GET" || method == "HEAD" else { return Page(status: 405, contentType: "text/plain; charset=utf-8", body: Array("GET or HEAD only\n".utf8)) }
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        switch path {
        case "/metrics":
            return Page(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(monitor.metrics.exposition().utf8))
        case "/status.json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? encoder.encode(monitor.status)) ?? Data("{}".utf8)
            return Page(status: 200, contentType: "application/json", body: Array(body))
        case "/", "/index.html":
            return Page(status: 200, contentType: "text/html; charset=utf-8", body: Array(StatusPage.html.utf8))
        default:
            return Page(status: 404, contentType: "text/plain; charset=utf-8", body: Array("not found: / (status page), /status.json, /metrics\n".utf8))
        }
    }
}
