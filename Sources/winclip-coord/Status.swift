import ArgumentParser
import CLI
import Coordinator
import Foundation
import Transport

extension WinCLIPCoord {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the rack: workers, jobs and queues of a running coordinator.",
            discussion: "Asks the coordinator of the cluster config (STATUS_REQUEST). Under security.mode curve, a key of the coordinator's authorized_operators folder sees the whole rack; a client key sees only its own jobs; give the key with security.secret_key or --secret-key.")

        @OptionGroup var cluster: ClusterFlags

        @Flag(help: "One JSON object (workers, jobs, queues) for scripts.")
        var json = false

        @Flag(help: "Ask again every --interval seconds until interrupted.")
        var watch = false

        @Option(help: "Seconds between two answers with --watch.")
        var interval: Double = 2

        @Option(help: "Seconds to wait for the coordinator's answer.")
        var timeout: Double = 5

        func run() throws {
            try reportingErrors {
                guard interval > 0, timeout > 0 else { throw ValidationError("--interval and --timeout must be positive") }
                let config = try cluster.load()
                let stop = StopSignal()
                stop.installProcessHandlers()
                let context = ZMQContext()
                repeat {
                    let status = try StatusClient.fetch(config: config, context: context, timeout: timeout)
                    // Written at once (unbuffered), so that --watch shows each answer as it comes;
                    // on a terminal the screen is redrawn.
                    let clear = watch && !json ? "\u{1B}[H\u{1B}[2J" : ""
                    FileHandle.standardOutput.write(Data((clear + (json ? try StatusTable.json(status) : StatusTable.text(status)) + "\n").utf8))
                    let until = Date().addingTimeInterval(interval)
                    while watch && !stop.isRequested && Date() < until { Thread.sleep(forTimeInterval: 0.05) }
                } while watch && !stop.isRequested
            }
        }
    }
}
