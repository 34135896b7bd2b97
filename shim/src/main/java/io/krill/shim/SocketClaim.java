package io.krill.shim;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * How a daemon started outside the launcher ({@code krill daemon}) takes the socket: under the
 * launcher's lock, the same one the launcher holds from its probe until the daemon it spawned
 * listens. Without it a service manager's daemon and a containerd {@code start} could both find the
 * socket dead and each bind it, leaving one daemon's tasks unreachable.
 */
final class SocketClaim {
  /** Another daemon answers on the socket; this one must not take it over. */
  static final class Taken extends Exception {
    Taken(String message) {
      super(message);
    }
  }

  @FunctionalInterface
  interface Listen {
    void start() throws IOException;
  }

  private SocketClaim() {}

  /** Runs {@code listen} with the lock held, unless a daemon already serves {@code socket}. */
  static void claim(Path runDir, Path socket, Listen listen) throws IOException, Taken {
    Files.createDirectories(runDir);
    try (FileChannel file =
            FileChannel.open(
                runDir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = file.lock()) {
      if (answers(socket)) {
        throw new Taken(
            "a krill daemon already serves "
                + socket
                + " (spawned by containerd's shim launcher, or another krill daemon); it exits after its idle timeout"
                + " once its tasks are gone, or stop it");
      }
      listen.start();
    }
  }

  /**
   * Only "nobody there" counts as free, as in the launcher: a busy listener is still a listener.
   */
  static boolean answers(Path socket) {
    if (!Files.exists(socket)) {
      return false;
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      return true;
    } catch (ConnectException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }
}
