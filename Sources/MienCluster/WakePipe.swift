import Foundation

/// A non-blocking pipe that lets another thread wake a thread blocked in `zmq_poll`.
package final class WakePipe: @unchecked Sendable {
    package let readFD: Int32
    private let writeFD: Int32

    package init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ClusterError.system("create wake-up pipe", errno: errno) }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    package func wake() {
        var one: UInt8 = 1
        _ = write(writeFD, &one, 1)  // EAGAIN: the pipe is full, a wake-up is pending anyway
    }

    package func drain() {
        var buf = [UInt8](repeating: 0, count: 64)
        while read(readFD, &buf, buf.count) > 0 {}
    }
}
