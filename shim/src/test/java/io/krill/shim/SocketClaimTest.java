package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SocketClaimTest {
  @TempDir Path dir;

  @Test
  void claim_socketAnswered_takenAndListenNotRun() throws Exception {
    Path socket = dir.resolve("s");
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(socket));
      AtomicBoolean listened = new AtomicBoolean();
      assertThrows(
          SocketClaim.Taken.class,
          () -> SocketClaim.claim(dir.resolve("run"), socket, () -> listened.set(true)));
      assertFalse(listened.get());
      assertTrue(Files.exists(socket));
    }
  }

  @Test
  void claim_staleSocketFile_listensUnderLock() throws Exception {
    Path socket = dir.resolve("s");
    try (ServerSocketChannel gone = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      gone.bind(UnixDomainSocketAddress.of(socket));
    }
    AtomicBoolean listened = new AtomicBoolean();
    SocketClaim.claim(dir.resolve("run"), socket, () -> listened.set(true));
    assertTrue(listened.get());
    assertTrue(Files.exists(dir.resolve("run/lock")));
  }

  @Test
  void answers_noFile_false() {
    assertFalse(SocketClaim.answers(dir.resolve("none")));
  }
}
