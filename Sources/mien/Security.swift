import ArgumentParser
import Foundation
import MienCluster
import MienTransport

/// `mien keys generate`: CURVE key pairs for cluster roles and consumers.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys",
        abstract: "CURVE keys for cluster mode.",
        subcommands: [KeysGenerate.self])
}

struct KeysGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate",
        abstract: "Write a new CURVE key pair: DIR/NAME.pub (public, one line) and DIR/NAME.key (secret, mode 0600).",
        discussion: """
        Give NAME.pub to the servers that should let this process in (--curve-allow, a file or a folder \
        of .pub files) and, for a server, to its clients (--curve-server-key). NAME.key stays with the \
        process (--curve-secret-key). Existing files are never overwritten.
        """)

    @Option(help: "Folder to write the key files to (created when missing).") var out: String
    @Option(help: "Name of the key pair, e.g. coordinator, fw-host1.") var name: String

    func validate() throws {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw ValidationError("--name must be a plain file name (no '/', not starting with '.'), e.g. --name coordinator")
        }
    }

    func run() throws {
        let pair = try CurveKeyPair.generate()
        let (pub, key) = try CurveKeyFile.write(pair, directory: out, name: name)
        print("public key \(pair.publicKey.z85)")
        print("\(pub)  public: servers list it in --curve-allow; a server's clients pass it as --curve-server-key")
        print("\(key)  secret (mode 0600): this process's --curve-secret-key; never share it")
    }
}

/// ZAP domains of the binding roles (they name the allow-list in log lines).
enum CurveDomain {
    static let coordinator = "mien.coordinator"
    static let aggregator = "mien.aggregator"
    /// The aggregator's result stream: consumer keys, an allow-list apart from the intake's.
    static let results = "mien.results"
    static let tune = "mien.tune"
}

/// The checks shared by the role commands' CURVE flags (validate(): exit status 64 with the fix).
enum CurveFlags {
    static func validateServer(secretKey: String?, allow: String?) throws {
        if allow != nil && secretKey == nil {
            throw ValidationError("--curve-allow needs --curve-secret-key (this server's own .key from `mien keys generate`)")
        }
        if secretKey != nil && allow == nil {
            throw ValidationError("--curve-secret-key on a role that binds needs --curve-allow (a .pub file or a folder of the clients' .pub files): Mien never lets unknown clients in")
        }
    }

    static func validateClient(secretKey: String?, serverKey: String?, server: String) throws {
        if serverKey != nil && secretKey == nil {
            throw ValidationError("--curve-server-key needs --curve-secret-key (this process's own .key; the \(server) must list its .pub in --curve-allow)")
        }
    }

    /// Loads this process's key pair and allow-list and starts the context's ZAP handler.
    static func server(context: ZMQContext, secretKey: String, allow: String, domain: String,
                       log: @escaping @Sendable (String) -> Void) throws -> (CurveServer, ZAPHandler) {
        let pair = try CurveKeyFile.loadKeyPair(secretKey)
        let allowed = try CurveKeyFile.loadAllowList(allow)
        let handler = try ZAPHandler(context: context, log: log)
        log("\(domain): CURVE on, \(allowed.count) client key(s) allowed from \(allow); server key \(pair.publicKey.z85)")
        return (handler.serve(domain: domain, keyPair: pair, allow: allowed), handler)
    }

    static func client(secretKey: String, serverKey: String) throws -> CurveClient {
        CurveClient(serverKey: try CurveKeyFile.loadPublicKey(serverKey), keyPair: try CurveKeyFile.loadKeyPair(secretKey))
    }
}

/// CURVE flags of a role that only binds (the aggregator).
struct CurveServerOptions: ParsableArguments {
    @Option(name: .customLong("curve-secret-key"), help: ArgumentHelp("This process's CURVE key file (NAME.key from `mien keys generate`).", valueName: "file"))
    var secretKey: String?
    @Option(name: .customLong("curve-allow"), help: ArgumentHelp("Client public keys let in: a .pub file or a folder of .pub files (required with --curve-secret-key).", valueName: "path"))
    var allow: String?

    var enabled: Bool { secretKey != nil }

    func validate() throws { try CurveFlags.validateServer(secretKey: secretKey, allow: allow) }
}

/// CURVE flags of a role that only connects (the workers).
struct CurveClientOptions: ParsableArguments {
    @Option(name: .customLong("curve-secret-key"), help: ArgumentHelp("This process's CURVE key file (NAME.key from `mien keys generate`); its .pub must be on the coordinator's --curve-allow.", valueName: "file"))
    var secretKey: String?
    @Option(name: .customLong("curve-server-key"), help: ArgumentHelp("The coordinator's public key file (.pub).", valueName: "file"))
    var serverKey: String?

    func validate() throws {
        try CurveFlags.validateClient(secretKey: secretKey, serverKey: serverKey, server: "coordinator")
        if secretKey != nil && serverKey == nil {
            throw ValidationError("--curve-secret-key needs --curve-server-key (the coordinator's .pub)")
        }
    }

    func load() throws -> CurveClient? {
        guard let secretKey, let serverKey else { return nil }
        return try CurveFlags.client(secretKey: secretKey, serverKey: serverKey)
    }
}

/// CURVE flags of the coordinator: it binds (worker sockets) and connects (to the aggregator).
struct CurveCoordinatorOptions: ParsableArguments {
    @Option(name: .customLong("curve-secret-key"), help: ArgumentHelp("This process's CURVE key file (NAME.key from `mien keys generate`).", valueName: "file"))
    var secretKey: String?
    @Option(name: .customLong("curve-allow"), help: ArgumentHelp("Worker public keys let in: a .pub file or a folder of .pub files (required with --curve-secret-key).", valueName: "path"))
    var allow: String?
    @Option(name: .customLong("curve-server-key"), help: ArgumentHelp("The aggregator's public key file (.pub), when the aggregator uses CURVE.", valueName: "file"))
    var serverKey: String?

    var enabled: Bool { secretKey != nil }

    func validate() throws {
        try CurveFlags.validateServer(secretKey: secretKey, allow: allow)
        try CurveFlags.validateClient(secretKey: secretKey, serverKey: serverKey, server: "aggregator")
    }
}
