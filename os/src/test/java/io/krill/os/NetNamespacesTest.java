package io.krill.os;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A listener opened in another network namespace stays there after its thread ends. */
class NetNamespacesTest {
  private Process holder;
  private String netns;

  @BeforeEach
  void newNamespace() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "needs root (setns)");
    // A process that holds a fresh network namespace with its loopback up.
    holder =
        new ProcessBuilder("unshare", "-n", "sh", "-c", "ip link set lo up && echo up && sleep 600")
            .redirectErrorStream(true)
            .start();
    String line = new String(holder.getInputStream().readNBytes(3));
    assertEquals("up\n", line);
    netns = "/proc/" + holder.pid() + "/ns/net";
    assertTrue(Files.exists(Path.of(netns)));
  }

  @AfterEach
  void end() throws Exception {
    if (holder != null) {
      holder.destroy();
      holder.waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aListenerOpenedInTheNamespaceServesThereAndNotHere() throws Exception {
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0);
    try (ServerSocketChannel here = NetNamespaces.listen(null, loopback)) {
      int port = ((InetSocketAddress) here.getLocalAddress()).getPort();
      InetSocketAddress same = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port);
      // The same address and port again: only possible in another namespace.
      try (ServerSocketChannel there = NetNamespaces.listen(netns, same)) {
        there.configureBlocking(true);
        // A client inside the namespace reaches it, from a thread entered later.
        try (SocketChannel c = NetNamespaces.run(netns, () -> SocketChannel.open(same));
            SocketChannel accepted = there.accept()) {
          assertTrue(accepted.isConnected());
          assertTrue(c.isConnected());
        }
      }
      // And the port in the namespace is free again once it is closed.
      NetNamespaces.listen(netns, same).close();
    }
  }

  @Test
  void aConnectionMadeInTheNamespaceReachesItsListenerNotThisOne() throws Exception {
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0);
    try (ServerSocketChannel there = NetNamespaces.listen(netns, loopback)) {
      int port = ((InetSocketAddress) there.getLocalAddress()).getPort();
      InetSocketAddress same = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port);
      there.configureBlocking(true);
      try (SocketChannel c = NetNamespaces.connect(netns, same);
          SocketChannel accepted = there.accept()) {
        assertTrue(c.isBlocking() && c.isConnected());
        c.write(java.nio.ByteBuffer.wrap(new byte[] {42}));
        java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
        accepted.read(one);
        assertEquals(42, one.get(0));
      }
      // This process's loopback has no listener on that port.
      assertThrows(ConnectException.class, () -> NetNamespaces.connect(null, same).close());
    }
  }

  @Test
  void aListenerOpenedHereIsNotReachableFromTheNamespace() throws Exception {
    try (ServerSocketChannel here =
        NetNamespaces.listen(null, new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))) {
      int port = ((InetSocketAddress) here.getLocalAddress()).getPort();
      assertThrows(
          ConnectException.class,
          () -> NetNamespaces.run(netns, () -> new Socket("127.0.0.1", port)).close());
    }
  }

  @Test
  void aMissingNamespaceIsAnIoErrorNamingIt() {
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                NetNamespaces.listen(
                    "/proc/no-such/ns/net", new InetSocketAddress("127.0.0.1", 0)));
    assertTrue(e.getMessage().contains("/proc/no-such/ns/net"), e.getMessage());
  }
}
