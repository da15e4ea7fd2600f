import ArgumentParser
import Foundation
import MienProto
import MienTransport
import MienWire
import SwiftProtobuf

/// `mien selftest`: checks the wire protocol and ZeroMQ transport on this machine, and serves
/// the sample messages that the C and Python example consumers decode.
struct SelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check the wire protocol and ZeroMQ transport; publish sample messages for consumers.",
        subcommands: [Transport.self, Publish.self, Dump.self],
        defaultSubcommand: Transport.self
    )

    /// Sends every sample envelope through every socket pattern over inproc, ipc and tcp.
    struct Transport: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send every envelope kind through ROUTER/DEALER and PUSH/PULL, every result kind through XPUB/SUB, over inproc, ipc and tcp.")

        @Option(help: "Rounds of the full sample set per pattern and transport.")
        var rounds = 200

        func validate() throws {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        }

        func run() throws {
            let context = try ZMQContext()
            defer { context.terminate() }
            let samples = SampleEnvelopes.all(), published = SampleEnvelopes.published()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-selftest-\(getpid())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (major, minor, patch) = ZMQContext.libraryVersion
            print("libzmq \(major).\(minor).\(patch), protocol v\(ProtocolConstants.version), \(samples.count) envelope kinds (ROUTER/DEALER, PUSH/PULL) and \(published.count) result kinds (XPUB/SUB) × \(rounds) rounds")
            var failures = 0
            for transport in ["inproc", "ipc", "tcp"] {
                for pattern in ["ROUTER/DEALER", "PUSH/PULL", "XPUB/SUB"] {
                    let endpoint = switch transport {
                    case "inproc": "inproc://selftest-\(pattern)"
                    case "ipc": "ipc://\(dir)/\(pattern.replacingOccurrences(of: "/", with: "-"))"
                    default: "tcp://127.0.0.1:*"
                    }
                    let start = DispatchTime.now()
                    let (count, bytes, mismatches) = try roundTrip(context, pattern: pattern, endpoint: endpoint, samples: samples,
                                                                  published: published)
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
                    failures += mismatches
                    let status = mismatches == 0 ? "ok" : "FAILED (\(mismatches) mismatches)"
                    let figures = String(format: "%6d msgs %9.1f KiB %9.0f msgs/s", count, Double(bytes) / 1024, Double(count) / seconds)
                    print("\(transport.padding(toLength: 7, withPad: " ", startingAt: 0)) \(pattern.padding(toLength: 14, withPad: " ", startingAt: 0)) \(figures)  \(status)")
                }
            }
            if failures > 0 { throw ExitCode.failure }
            print("transport self-test passed")
        }

        /// Sends the samples `rounds` times; returns messages, bytes and mismatches.
        func roundTrip(_ context: ZMQContext, pattern: String, endpoint: String, samples: [Envelope],
                       published: [Published]) throws -> (Int, Int, Int) {
            let (serverKind, clientKind): (SocketKind, SocketKind) = switch pattern {
            case "ROUTER/DEALER": (.router, .dealer)
            case "PUSH/PULL": (.pull, .push)
            default: (.xpub, .sub)
            }
            let server = try ZMQSocket(context, serverKind)
            try server.bind(endpoint)
            let client = try ZMQSocket(context, clientKind)
            if clientKind == .sub { try client.subscribe() }
            try client.connect(try server.lastEndpoint())
            if serverKind == .xpub { _ = try server.receive(timeoutMs: 5_000) }  // the subscription
            var count = 0, bytes = 0, mismatches = 0
            for _ in 0..<rounds {
                if serverKind == .xpub {  // the result stream: Published messages
                    for p in published {
                        try server.send(try Framing.published(p))
                        if try Framing.decodePublished(try receive(client)) != p { mismatches += 1 }
                        count += 1
                        bytes += try EnvelopeCodec.encode(p).count
                    }
                    continue
                }
                for e in samples {
                    try client.send(try Framing.direct(e))
                    let got = serverKind == .router ? try Framing.decodeRouted(try receive(server)).envelope
                                                    : try Framing.decodeDirect(try receive(server))
                    if got != e { mismatches += 1 }
                    count += 1
                    bytes += try EnvelopeCodec.encode(e).count
                }
            }
            client.close(); server.close()
            return (count, bytes, mismatches)
        }

        func receive(_ socket: ZMQSocket) throws -> [[UInt8]] {
            guard let frames = try socket.receive(timeoutMs: 5_000) else {
                throw ValidationError("no message within 5 s on \(socket.kind): the transport is not delivering")
            }
            return frames
        }
    }

    /// Publishes the result-stream samples on an XPUB socket once subscribers are connected.
    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish one result-stream message of every kind to subscribers (for the C and Python example consumers).")

        @Option(help: "Endpoint to bind, e.g. tcp://127.0.0.1:5600 or ipc:///tmp/mien.sock.")
        var endpoint: String

        @Option(help: "Subscribers to wait for before publishing.")
        var subscribers = 1

        @Option(help: "Seconds to wait for subscribers.")
        var timeout: Double = 20

        func validate() throws {
            guard subscribers >= 1 else { throw ValidationError("--subscribers must be at least 1") }
            guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        }

        func run() throws {
            let context = try ZMQContext()
            defer { context.terminate() }
            let pub = try ZMQSocket(context, .xpub)
            try pub.setSendHighWaterMark(100_000)
            try pub.setXPubVerbose(true)  // count every subscriber, even with identical subscriptions
            try pub.bind(endpoint)
            var seen = 0
            let deadline = Date().addingTimeInterval(timeout)
            while seen < subscribers {
                let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
                guard remaining > 0, let frames = try pub.receive(timeoutMs: remaining) else {
                    FileHandle.standardError.write("selftest publish: only \(seen) of \(subscribers) subscriber(s) connected to \(endpoint) within \(timeout) s\n".data(using: .utf8)!)
                    throw ExitCode.failure
                }
                if frames.first?.first == 1 { seen += 1 }  // 0x01 = subscribe, 0x00 = unsubscribe
            }
            let samples = SampleEnvelopes.published()
            for p in samples { try pub.send(try Framing.published(p)) }
            pub.close()
            FileHandle.standardError.write("selftest publish: sent \(samples.count) messages to \(seen) subscriber(s)\n".data(using: .utf8)!)
        }
    }

    /// Prints the result-stream samples as proto3 JSON, one line each (the consumers' expected output).
    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the sample result-stream messages as proto3 JSON lines (proto field names).")

        func run() throws {
            var options = JSONEncodingOptions()
            options.preserveProtoFieldNames = true
            for p in SampleEnvelopes.published() { print(try p.jsonString(options: options)) }
        }
    }
}
