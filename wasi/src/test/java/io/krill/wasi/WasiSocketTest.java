package io.krill.wasi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A preopened listening socket and the connections the guest accepts, over real loopback TCP. */
class WasiSocketTest {
  private ServerSocketChannel listener;
  private int port;
  private TestGuest g;

  @BeforeEach
  void listen() throws IOException {
    listener = ServerSocketChannel.open();
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
    g = new TestGuest(new Wasi.Options().listeners(List.of(listener)));
  }

  @AfterEach
  void close() {
    g.wasi.close();
  }

  private Socket connect() throws IOException {
    return new Socket(InetAddress.getLoopbackAddress(), port);
  }

  private int accept(int flags) {
    int fdp = g.alloc(4);
    int e = g.wasi.sockAccept(g.mem, 3, flags, fdp);
    if (e != 0) {
      throw new AssertionError("sock_accept: errno " + e);
    }
    return g.mem.readInt(fdp);
  }

  /** sock_recv into a fresh buffer: the bytes, or the errno as "errno N". */
  private String recv(int fd, int max, int riflags) {
    int buf = g.alloc(max);
    int n = g.alloc(4);
    int ro = g.alloc(2);
    g.mem.writeShort(ro, (short) 7);
    int e = g.wasi.sockRecv(g.mem, fd, g.iov(buf, max), 1, riflags, n, ro);
    if (e != 0) {
      return "errno " + e;
    }
    assertEquals(0, g.mem.readShort(ro)); // roflags: never truncated on a stream
    return g.read(buf, g.mem.readInt(n));
  }

  private int send(int fd, String s) {
    int buf = g.str(s);
    int n = g.alloc(4);
    int e = g.wasi.sockSend(g.mem, fd, g.iov(buf, TestGuest.len(s)), 1, 0, n);
    return e != 0 ? -e : g.mem.readInt(n);
  }

  private static String readToEnd(Socket s) throws IOException {
    return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void listenerIsFdThreeBeforeDirectoriesAndAStreamSocket() {
    int st = g.alloc(24);
    assertEquals(0, g.wasi.fdFdstatGet(g.mem, 3, st));
    assertEquals(Descriptor.FILETYPE_SOCKET_STREAM, g.mem.readByte(st));
    assertTrue((g.mem.readLong(st + 8) & Rights.SOCK_ACCEPT) != 0);
    // not a directory preopen: wasi-libc's preopen scan stops here
    assertEquals(Errno.BADF, g.wasi.fdPrestatGet(g.mem, 3, g.alloc(8)));
  }

  @Test
  void acceptsReadsALineAndAnswersThenTheClientSeesTheClose() throws Exception {
    try (Socket c = connect()) {
      int fd = accept(0);
      int st = g.alloc(24);
      assertEquals(0, g.wasi.fdFdstatGet(g.mem, fd, st));
      assertEquals(Descriptor.FILETYPE_SOCKET_STREAM, g.mem.readByte(st));
      c.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.UTF_8));
      assertEquals("GET / HTTP/1.0\r\n\r\n", g.readAll(fd, 100));
      assertEquals(31, g.write(fd, "HTTP/1.0 200 OK\r\n\r\nhello\n12345x"));
      assertEquals(0, g.wasi.fdClose(fd));
      assertEquals("HTTP/1.0 200 OK\r\n\r\nhello\n12345x", readToEnd(c));
    }
  }

  @Test
  void sockRecvPeeksWaitsForAllAndSockSendSends() throws Exception {
    try (Socket c = connect()) {
      int fd = accept(0);
      OutputStream out = c.getOutputStream();
      out.write("abc".getBytes(StandardCharsets.UTF_8));
      assertEquals("abc", recv(fd, 3, Wasi.RIFLAGS_RECV_PEEK | Wasi.RIFLAGS_RECV_WAITALL));
      assertEquals("ab", recv(fd, 2, Wasi.RIFLAGS_RECV_PEEK));
      CompletableFuture<String> all =
          CompletableFuture.supplyAsync(() -> recv(fd, 6, Wasi.RIFLAGS_RECV_WAITALL));
      out.write("def".getBytes(StandardCharsets.UTF_8));
      assertEquals("abcdef", all.get(30, TimeUnit.SECONDS));
      assertEquals(5, send(fd, "hello"));
      byte[] got = c.getInputStream().readNBytes(5);
      assertEquals("hello", new String(got, StandardCharsets.UTF_8));
      assertEquals(Errno.INVAL, g.wasi.sockRecv(g.mem, fd, g.iov(g.alloc(4), 4), 1, 4, 0, 8));
    }
  }

  @Test
  void nonblockingAcceptAndRecvSayAgainAndPollReportsReadiness() throws Exception {
    assertEquals(0, g.wasi.fdFdstatSetFlags(3, Wasi.FDFLAGS_NONBLOCK));
    assertEquals(Errno.AGAIN, g.wasi.sockAccept(g.mem, 3, 0, g.alloc(4)));
    try (Socket c = connect()) {
      // poll: the listener becomes readable when a connection waits
      assertEquals(1, pollRead(3));
      int fd = accept(Wasi.FDFLAGS_NONBLOCK);
      assertEquals("errno " + Errno.AGAIN, recv(fd, 10, 0));
      assertEquals(1, pollWrite(fd));
      c.getOutputStream().write('x');
      assertEquals(1, pollRead(fd));
      assertEquals(1, g.mem.readLong(lastEvents + 16)); // nbytes
      assertEquals("x", recv(fd, 10, 0));
      c.shutdownOutput();
      assertEquals(1, pollRead(fd));
      assertEquals(Wasi.EVENTRWFLAGS_HANGUP, g.mem.readShort(lastEvents + 24));
      assertEquals("", recv(fd, 10, 0)); // end of stream
    }
  }

  private int lastEvents;

  private int poll(int fd, int tag) {
    int in = g.alloc(Wasi.SUBSCRIPTION_SIZE);
    g.mem.writeLong(in, 42);
    g.mem.writeByte(in + 8, (byte) tag);
    g.mem.writeInt(in + 16, fd);
    lastEvents = g.alloc(Wasi.EVENT_SIZE);
    int n = g.alloc(4);
    assertEquals(0, g.wasi.pollOneoff(g.mem, in, lastEvents, 1, n));
    assertEquals(0, g.mem.readShort(lastEvents + 8)); // errno
    return g.mem.readInt(n);
  }

  private int pollRead(int fd) {
    return poll(fd, Wasi.EVENTTYPE_FD_READ);
  }

  private int pollWrite(int fd) {
    return poll(fd, Wasi.EVENTTYPE_FD_WRITE);
  }

  @Test
  void shutdownWriteEndsThePeersStreamAndSendThenIsABrokenPipe() throws Exception {
    try (Socket c = connect()) {
      int fd = accept(0);
      assertEquals(Errno.INVAL, g.wasi.sockShutdown(fd, 0));
      assertEquals(0, g.wasi.sockShutdown(fd, Wasi.SDFLAGS_WR));
      InputStream in = c.getInputStream();
      assertEquals(-1, in.read());
      assertEquals(-Errno.PIPE, send(fd, "late"));
      assertEquals(0, g.wasi.sockShutdown(fd, Wasi.SDFLAGS_RD));
      assertEquals("", recv(fd, 10, 0));
      assertEquals(Errno.NOTCONN, g.wasi.sockShutdown(3, Wasi.SDFLAGS_RD));
      assertEquals(Errno.NOTCONN, g.wasi.sockRecv(g.mem, 3, g.iov(g.alloc(4), 4), 1, 0, 0, 8));
    }
  }

  @Test
  void aKillEndsABlockedAcceptAndCloseFreesThePort() throws Exception {
    CompletableFuture<String> accept =
        waiting(() -> "errno " + g.wasi.sockAccept(g.mem, 3, 0, g.alloc(4)));
    assertFalse(accept.isDone());
    g.wasi.interruption().interrupt();
    assertEquals("interrupted", accept.get(30, TimeUnit.SECONDS));
    g.wasi.close();
    assertFalse(listener.isOpen());
    assertThrows(ConnectException.class, this::connect);
    try (ServerSocketChannel again = ServerSocketChannel.open()) {
      again.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    }
  }

  @Test
  void aGracefulStopEndsABlockedAcceptWithEinvalAndAcceptedConnectionsGoOn() throws Exception {
    try (Socket client = connect()) {
      int fd = accept(0);
      CompletableFuture<Integer> next =
          CompletableFuture.supplyAsync(() -> g.wasi.sockAccept(g.mem, 3, 0, g.alloc(4)));
      assertFalse(next.isDone());
      g.wasi.interruption().stopAccepting();
      assertEquals(Errno.INVAL, next.get(30, TimeUnit.SECONDS));
      // the accepted connection still works both ways
      client.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
      assertEquals("ping\n", recv(fd, 64, 0));
      assertEquals(5, send(fd, "pong\n"));
      byte[] got = client.getInputStream().readNBytes(5);
      assertEquals("pong\n", new String(got, StandardCharsets.UTF_8));
      // and later calls say the same, without waiting
      assertEquals(Errno.INVAL, g.wasi.sockAccept(g.mem, 3, 0, g.alloc(4)));
    }
  }

  @Test
  void aKillEndsABlockedRecvAndAPoll() throws Exception {
    try (Socket c = connect()) {
      int fd = accept(0);
      CompletableFuture<String> poll = waiting(() -> "events " + pollRead(fd));
      g.wasi.interruption().interrupt();
      assertEquals("interrupted", poll.get(30, TimeUnit.SECONDS));
      assertThrows(GuestInterrupted.class, () -> recv(fd, 4, 0));
    }
  }

  /** Runs {@code call} on another thread: its result, or "interrupted" if a kill ended it. */
  private static CompletableFuture<String> waiting(java.util.function.Supplier<String> call) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return call.get();
          } catch (GuestInterrupted e) {
            return "interrupted";
          }
        });
  }

  @Test
  void aKillEndsARecvWaitingWithoutAPollAndAGracefulStopDoesNot() throws Exception {
    try (Socket c = connect()) {
      int fd = accept(0);
      CompletableFuture<String> first = waiting(() -> recv(fd, 5, 0));
      Thread.sleep(200); // let it wait in the host's read
      g.wasi.interruption().stopAccepting();
      c.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
      assertEquals("ping\n", first.get(30, TimeUnit.SECONDS));
      CompletableFuture<String> second = waiting(() -> recv(fd, 5, 0));
      Thread.sleep(200);
      assertFalse(second.isDone());
      g.wasi.interruption().interrupt();
      assertEquals("interrupted", second.get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void aKillEndsASendThePeerDoesNotRead() throws Exception {
    try (Socket c = connect()) {
      int fd = accept(0);
      int size = 512 << 10;
      int buf = g.alloc(size);
      int iov = g.iov(buf, size);
      int n = g.alloc(4);
      CompletableFuture<String> send =
          waiting(
              () -> {
                // more than the socket buffers of both ends hold: one of these sends blocks
                for (int i = 0; i < 64; i++) {
                  int e = g.wasi.sockSend(g.mem, fd, iov, 1, 0, n);
                  if (e != 0) {
                    return "errno " + e;
                  }
                }
                return "all sent";
              });
      Thread.sleep(300);
      assertFalse(send.isDone());
      g.wasi.interruption().interrupt();
      assertEquals("interrupted", send.get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void aConnectionReadBlockingThenPolledThenNonblockingKeepsItsBytes() throws Exception {
    try (Socket c = connect()) {
      int fd = accept(0);
      OutputStream out = c.getOutputStream();
      out.write("one".getBytes(StandardCharsets.UTF_8));
      assertEquals("one", recv(fd, 3, Wasi.RIFLAGS_RECV_WAITALL));
      out.write("two".getBytes(StandardCharsets.UTF_8));
      assertEquals(1, pollRead(fd));
      assertEquals("two", recv(fd, 3, Wasi.RIFLAGS_RECV_WAITALL));
      CompletableFuture<String> three = waiting(() -> recv(fd, 5, Wasi.RIFLAGS_RECV_WAITALL));
      out.write("three".getBytes(StandardCharsets.UTF_8));
      assertEquals("three", three.get(30, TimeUnit.SECONDS));
      assertEquals(0, g.wasi.fdFdstatSetFlags(fd, Wasi.FDFLAGS_NONBLOCK));
      assertEquals("errno " + Errno.AGAIN, recv(fd, 10, 0));
      out.write("four".getBytes(StandardCharsets.UTF_8));
      assertEquals(1, pollRead(fd));
      assertEquals("four", recv(fd, 10, 0));
      assertEquals(4, send(fd, "back"));
      assertEquals("back", new String(c.getInputStream().readNBytes(4), StandardCharsets.UTF_8));
    }
  }

  @Test
  void listenersClosedForAGracefulStopRefuseConnectionsWhileTheGuestWaitsInARead()
      throws Exception {
    // the first accept waits in the selector, so the listener has been registered with it
    int fdp = g.alloc(4);
    CompletableFuture<String> first = waiting(() -> "errno " + g.wasi.sockAccept(g.mem, 3, 0, fdp));
    Thread.sleep(200);
    try (Socket c = connect()) {
      assertEquals("errno 0", first.get(30, TimeUnit.SECONDS));
      int fd = g.mem.readInt(fdp);
      CompletableFuture<String> inFlight = waiting(() -> recv(fd, 5, 0));
      Thread.sleep(200); // the guest waits in the connection's read
      // as GuestProcess stops a listening guest: its listeners closed, then the guest told
      listener.close();
      g.wasi.interruption().stopAccepting();
      assertThrows(ConnectException.class, this::connect);
      c.getOutputStream().write("done\n".getBytes(StandardCharsets.UTF_8));
      assertEquals("done\n", inFlight.get(30, TimeUnit.SECONDS));
    }
  }
}
