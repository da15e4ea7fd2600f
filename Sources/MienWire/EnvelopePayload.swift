import MienProto

extension Envelope {
    /// What an envelope carries, as one flat enum for the code that sends and matches it.
    ///
    /// On the wire the peer-session and tuning bodies sit one level down, in `Session` and
    /// `Tuning` (proto/mien/v1/envelope.proto says why); this file is the only code that
    /// knows about that nesting.
    public enum Payload: Equatable, Sendable {
        // Session plane (control.proto)
        case hello(Mien_V1_WorkerHello)
        case ready(Mien_V1_Ready)
        case heartbeat(Mien_V1_Heartbeat)
        case ack(Mien_V1_Ack)
        case error(Mien_V1_Error)
        case shutdown(Mien_V1_Shutdown)
        // The data path
        case frameBatch(Mien_V1_FrameBatch)
        case embeddingBatch(Mien_V1_EmbeddingBatch)
        case windowBatch(Mien_V1_WindowBatch)
        case windowPredictionBatch(Mien_V1_WindowPredictionBatch)
        case manifest(Mien_V1_VideoManifest)
        case trackFrames(Mien_V1_TrackFrames)
        // Tuning plane (tuning.proto)
        case trialWorkerHello(Mien_V1_TrialWorkerHello)
        case trialSetup(Mien_V1_TrialSetup)
        case trialDataChunk(Mien_V1_TrialDataChunk)
        case trialRequest(Mien_V1_TrialRequest)
        case trialResult(Mien_V1_TrialResult)

        /// The proto field name of this message, e.g. `"window_batch"`.
        public var kind: String {
            switch self {
            case .hello: "hello"
            case .ready: "ready"
            case .heartbeat: "heartbeat"
            case .ack: "ack"
            case .error: "error"
            case .shutdown: "shutdown"
            case .frameBatch: "frame_batch"
            case .embeddingBatch: "embedding_batch"
            case .windowBatch: "window_batch"
            case .windowPredictionBatch: "window_prediction_batch"
            case .manifest: "manifest"
            case .trackFrames: "track_frames"
            case .trialWorkerHello: "trial_worker_hello"
            case .trialSetup: "trial_setup"
            case .trialDataChunk: "trial_data_chunk"
            case .trialRequest: "trial_request"
            case .trialResult: "trial_result"
            }
        }
    }

    /// The body as a `Payload`; nil when there is none or it is of a plane's case this
    /// build does not know.
    public var payload: Payload? {
        get {
            switch body {
            case .session(let s)?: Self.payload(of: s)
            case .tuning(let t)?: Self.payload(of: t)
            case .frameBatch(let m)?: .frameBatch(m)
            case .embeddingBatch(let m)?: .embeddingBatch(m)
            case .windowBatch(let m)?: .windowBatch(m)
            case .windowPredictionBatch(let m)?: .windowPredictionBatch(m)
            case .manifest(let m)?: .manifest(m)
            case .trackFrames(let m)?: .trackFrames(m)
            case nil: nil
            }
        }
        set { body = newValue.map(Self.body(of:)) }
    }

    private static func payload(of session: Mien_V1_Session) -> Payload? {
        switch session.body {
        case .hello(let m)?: .hello(m)
        case .ready(let m)?: .ready(m)
        case .heartbeat(let m)?: .heartbeat(m)
        case .ack(let m)?: .ack(m)
        case .error(let m)?: .error(m)
        case .shutdown(let m)?: .shutdown(m)
        case nil: nil
        }
    }

    private static func payload(of tuning: Mien_V1_Tuning) -> Payload? {
        switch tuning.body {
        case .workerHello(let m)?: .trialWorkerHello(m)
        case .setup(let m)?: .trialSetup(m)
        case .dataChunk(let m)?: .trialDataChunk(m)
        case .request(let m)?: .trialRequest(m)
        case .result(let m)?: .trialResult(m)
        case nil: nil
        }
    }

    private static func body(of payload: Payload) -> OneOf_Body {
        switch payload {
        case .hello(let m): .session(.with { $0.body = .hello(m) })
        case .ready(let m): .session(.with { $0.body = .ready(m) })
        case .heartbeat(let m): .session(.with { $0.body = .heartbeat(m) })
        case .ack(let m): .session(.with { $0.body = .ack(m) })
        case .error(let m): .session(.with { $0.body = .error(m) })
        case .shutdown(let m): .session(.with { $0.body = .shutdown(m) })
        case .frameBatch(let m): .frameBatch(m)
        case .embeddingBatch(let m): .embeddingBatch(m)
        case .windowBatch(let m): .windowBatch(m)
        case .windowPredictionBatch(let m): .windowPredictionBatch(m)
        case .manifest(let m): .manifest(m)
        case .trackFrames(let m): .trackFrames(m)
        case .trialWorkerHello(let m): .tuning(.with { $0.body = .workerHello(m) })
        case .trialSetup(let m): .tuning(.with { $0.body = .setup(m) })
        case .trialDataChunk(let m): .tuning(.with { $0.body = .dataChunk(m) })
        case .trialRequest(let m): .tuning(.with { $0.body = .request(m) })
        case .trialResult(let m): .tuning(.with { $0.body = .result(m) })
        }
    }
}
