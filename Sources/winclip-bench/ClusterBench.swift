import ArgumentParser
import CLI
import Coordinator
import Foundation
import Logging
import Options
import Protocol
import Submit
import Synchronization
import Transport
import WinCLIP

/// The coordinator's capacity: the real `CoordinatorLoop` on its own thread, simulated workers
/// that answer every unit at once (so the coordinator is the only thing that takes time), and
/// a client (the real `SubmitMachine`) that streams one job's images within its credit. Prints
/// the unit round trips per second the coordinator sustained, its thread's CPU time (so the
/// figure is per core) and images per second.
struct ClusterBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Load the coordinator with simulated workers that answer instantly: unit round trips per second, per coordinator core.",
        discussion: """
        The coordinator, the simulated workers (one thread polls all their sockets) and the \
        client run in this process, over tcp loopback (default, as on a rack) or inproc. The \
        model config (--model-config, default ViT-B-16-plus-240) only sets the geometry (input size, patch grid, embedding size): no \
        weights are read and nothing is computed. The per-core figure divides the units \
        answered by the coordinator thread's own CPU time (pthread_getcpuclockid), so the \
        other threads sharing the machine do not change it.
        """)

    enum Transport: String, ExpressibleByArgument, CaseIterable { case tcp, inproc }

    @Option(help: "Simulated workers, each a DEALER socket holding up to two units (at most about 1,000: ZeroMQ allows 1,023 sockets per context).")
    var simulatedWorkers = 64

    @Option(help: "Images of the job.")
    var images = 500

    /// `--model-config` (a built-in name or an open_clip JSON path) is the parent command's
    /// option, so that `winclip-bench cluster --model-config X` means one thing.
    @ParentCommand var bench: WinCLIPBench

    @Option(help: "segmentation (full pass and window units per image) or classification (full pass only).")
    var task = ScoringTask.segmentation

    @Option(help: "tcp (loopback, as on a rack) or inproc.")
    var transport = Transport.tcp

    @Flag(help: "Log the coordinator's info lines.")
    var verbose = false

    func validate() throws {
        guard simulatedWorkers >= 1 else { throw ValidationError("--simulated-workers must be at least 1") }
        guard images >= 1 else { throw ValidationError("--images must be at least 1") }
    }

    func run() throws {
        var logger = Logger(label: "winclip-bench")
        logger.logLevel = verbose ? .info : .warning
        let config = try ModelConfig.load(bench.modelConfig)
        let options = JobOptions(className: "object", task: task)
        let plan = try ImagePlan(gridSize: config.vision.gridSize, imageSize: config.vision.imageSize,
                                 scales: options.scales, attention: options.windowAttention)
        let unitsPerImage = task == .classification ? 1 : plan.units.count
        let pixelBytes = 4 * 3 * config.vision.imageSize * config.vision.imageSize
        print("coordinator load: \(simulatedWorkers) simulated workers, \(transport == .tcp ? "tcp loopback" : "inproc"), "
              + "model \(config.name) (\(config.vision.imageSize) px, \(config.vision.gridSize)x\(config.vision.gridSize) grid), "
              + "\(task.rawValue): \(unitsPerImage) unit(s) per image, \(pixelBytes / 1024) KiB of pixels per unit")

        let context = ZMQContext()
        let stop = StopSignal()
        let threads = DispatchGroup()
        defer {
            stop.request()
            _ = threads.wait(timeout: .now() + 30)
        }

        // The coordinator: bound before anyone connects; its thread's CPU clock read from here.
        let wanted = transport == .tcp ? "tcp://127.0.0.1:*" : "inproc://winclip-bench-\(UUID().uuidString)"
        let coordinator = CoordinatorLoop(context: context, endpoint: wanted, settings: CoordinatorSettings(), logger: logger)
        let started = Handoff<Result<(endpoint: String, clock: ThreadCPUClock), BenchError>>()
        threads.enter()
        Thread.detachNewThread {
            defer { threads.leave() }
            let clock = ThreadCPUClock.current()
            do {
                try coordinator.run(stop: stop, bound: { started.put(.success((endpoint: $0, clock: clock))) })
            } catch {
                started.put(.failure(BenchError("coordinator: \(error)")))
            }
        }
        let (endpoint, coordinatorClock) = try started.take().get()

        let ready = Ready(fingerprint: "simulated", model: config.name, imageSize: config.vision.imageSize,
                          gridSize: config.vision.gridSize, name: "")
        let workers = SimulatedWorkers(context: context, endpoint: endpoint, count: simulatedWorkers, ready: ready, embedDim: config.embedDim)
        let counters = SimulatedWorkers.Counters()
        let workerFailure = Handoff<String>()
        threads.enter()
        Thread.detachNewThread {
            defer { threads.leave() }
            do { try workers.run(stop: stop, counters: counters) } catch { workerFailure.put("simulated workers: \(error)") }
        }
        while !counters.isConnected {
            if let error = workerFailure.peek() { throw BenchError(error) }
            Thread.sleep(forTimeInterval: 0.01)
        }
        // Let every READY arrive, so the job's credit counts all workers.
        Thread.sleep(forTimeInterval: 0.5)

        var mark: (wall: Double, coordinatorCPU: Double, processCPU: Double, units: Int)?
        let client = SimulatedClient(context: context, endpoint: endpoint, imageSize: config.vision.imageSize)
        let request = SubmitRequest(options: options, referenceCount: 0, imageCount: images, wantMaps: task == .segmentation)
        let outcome = try client.run(request, failure: workerFailure) {
            mark = (monotonicNow(), coordinatorClock.seconds(), processCPUSeconds(), counters.answered)
        }
        let end = (wall: monotonicNow(), coordinatorCPU: coordinatorClock.seconds(), processCPU: processCPUSeconds(), units: counters.answered)
        guard let start = mark else { throw BenchError("the job was never accepted") }

        let wall = end.wall - start.wall
        let cpu = end.coordinatorCPU - start.coordinatorCPU
        let units = end.units - start.units
        print(String(format: "images: %d scored, %d failed in %.2f s: %.1f images/s (credit %d)",
                     outcome.scored, outcome.failed, wall, Double(outcome.scored + outcome.failed) / wall, outcome.credit))
        print(String(format: "unit round trips: %d in %.2f s: %.0f per second (wall)", units, wall, Double(units) / wall))
        print(String(format: "coordinator thread: %.2f s CPU, %.0f%% of the wall time: %.0f unit round trips per CPU second (one core)",
                     cpu, 100 * cpu / wall, Double(units) / cpu))
        print(String(format: "whole process: %.2f s CPU (coordinator, simulated workers, client, ZeroMQ I/O threads) on %d core(s)",
                     end.processCPU - start.processCPU, ProcessInfo.processInfo.activeProcessorCount))
        if let first = outcome.firstError { throw BenchError("\(outcome.failed) image(s) failed, e.g.: \(first)") }
    }
}

/// The client: the real `SubmitMachine` on a DEALER socket, with every image "decoded" at once
/// (the same pixel blob each time), so that it sends as fast as the credit allows.
struct SimulatedClient {
    let context: ZMQContext
    let endpoint: String
    let imageSize: Int

    struct Outcome {
        var scored = 0, failed = 0, credit = 0
        var firstError: String?
    }

    /// Runs one job to its end; `accepted` is called when the coordinator accepts it.
    func run(_ request: SubmitRequest, failure: Handoff<String>, accepted: () -> Void) throws -> Outcome {
        let socket = try ZMQSocket(context, .dealer)
        defer { socket.close() }
        try socket.setMaxMessageSize(FrameLimit.unknownModel)
        try socket.connect(endpoint)
        let pixels = FloatBlob.encode((0..<(3 * imageSize * imageSize)).map { Float($0 % 255) / 255 - 0.5 })
        var machine = SubmitMachine(request: request, at: monotonicNow())
        var outcome = Outcome()
        var actions = machine.start()
        while true {
            while !actions.isEmpty {
                switch actions.removeFirst() {
                case .send(let message):
                    try socket.send(message.frames)
                case .accepted(let a):
                    outcome.credit = a.credit
                    accepted()
                case .load(let index, _):
                    actions += machine.loaded(index: index, reference: false, .success(pixels))
                case .deliver(_, .scored):
                    outcome.scored += 1
                case .deliver(_, .failed(let error)):
                    outcome.failed += 1
                    outcome.firstError = outcome.firstError ?? error
                case .diagnostic(.waitingForCoordinator(let seconds)):
                    FileHandle.standardError.write(Data("note: no answer from the coordinator after \(seconds) s\n".utf8))
                case .diagnostic(let diagnostic):
                    FileHandle.standardError.write(Data("note: \(diagnostic.message(endpoint: endpoint))\n".utf8))
                case .reconnect:
                    throw BenchError("the client lost the coordinator")
                case .finished(let result):
                    _ = try result.get()
                    return outcome
                }
            }
            if let error = failure.peek() { throw BenchError(error) }
            if let frames = try socket.receive(timeoutMs: 100) {
                actions += machine.received(frames, at: monotonicNow())
            }
            actions += machine.tick(at: monotonicNow())
        }
    }
}

/// The CPU clock of the thread that made it, readable from any thread while that one lives.
struct ThreadCPUClock: Sendable {
    let id: clockid_t

    static func current() -> ThreadCPUClock {
        var id = clockid_t()
        // Cannot fail for the calling thread (pthread_getcpuclockid(3): only ENOENT/ESRCH).
        _ = pthread_getcpuclockid(pthread_self(), &id)
        return ThreadCPUClock(id: id)
    }

    func seconds() -> Double {
        var t = timespec()
        clock_gettime(id, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

/// User + system CPU seconds of the whole process.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// One value handed from one thread to another: `put` once, `take` waits for it.
final class Handoff<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let arrived = DispatchSemaphore(value: 0)

    func put(_ v: Value) {
        let first = value.withLock { slot -> Bool in
            guard slot == nil else { return false }
            slot = v
            return true
        }
        if first { arrived.signal() }
    }

    func take() -> Value {
        arrived.wait()
        return value.withLock { $0! }
    }

    func peek() -> Value? { value.withLock { $0 } }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
