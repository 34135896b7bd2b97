package io.krill.ttrpc;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A ttrpc server on a unix socket. One I/O thread accepts and reads every connection (an idle
 * client costs a socket and a few hundred bytes, not a thread); handlers run on the supplied
 * executor so a long call (e.g. a task Wait) never blocks other calls, and replies never wait on a
 * slow client (see {@link ServerConnection}).
 */
public final class TtrpcServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(TtrpcServer.class.getName());
  private static final AtomicInteger CONNECTION_IDS = new AtomicInteger();

  /**
   * Connections the kernel holds until the I/O thread accepts them; beyond, a non-blocking connect
   * fails with EAGAIN. The JDK's default is 50; the kernel caps this at net.core.somaxconn (4096
   * since Linux 5.4).
   */
  static final int BACKLOG = 4096;

  private static final int READ_BUFFER = 64 * 1024;
  private static final int MAX_ACCEPTS_PER_WAKEUP = 256;
  private static final long ACCEPT_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final Path socket;
  private final Executor handlerExecutor;
  private final Map<String, Map<String, Handler>> services = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Runnable> acceptListeners = new CopyOnWriteArrayList<>();
  private final Set<ServerConnection> connections = ConcurrentHashMap.newKeySet();
  private final Object lifecycle = new Object();
  private ServerSocketChannel listener;
  private Selector selector;
  private SelectionKey acceptKey;
  private Thread ioThread;
  private volatile boolean closed;

  /** Only touched by the I/O thread: when to listen for connections again after accept failed. */
  private long acceptPausedUntil;

  private boolean acceptPaused;

  public TtrpcServer(Path socket, Executor handlerExecutor) {
    this.socket = Objects.requireNonNull(socket, "socket");
    this.handlerExecutor = Objects.requireNonNull(handlerExecutor, "handlerExecutor");
  }

  /**
   * May be called before or after {@link #start()}; a later registration replaces an earlier one.
   */
  public void register(String service, String method, Handler handler) {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(handler, "handler");
    services.computeIfAbsent(service, s -> new ConcurrentHashMap<>()).put(method, handler);
  }

  /** Runs on the I/O thread for every new connection; keep it short and never block in it. */
  public void onAccept(Runnable listener) {
    acceptListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  public void start() throws IOException {
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException("server closed");
      }
      if (listener != null) {
        throw new IllegalStateException("server already started");
      }
      // A previous process that died without cleanup leaves the file behind, and bind
      // would fail with "address in use" although nobody listens.
      if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
        Files.delete(socket);
      }
      ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      Selector sel = null;
      try {
        ch.bind(UnixDomainSocketAddress.of(socket), BACKLOG);
        restrictPermissions();
        ch.configureBlocking(false);
        sel = Selector.open();
        acceptKey = ch.register(sel, SelectionKey.OP_ACCEPT);
      } catch (IOException | RuntimeException e) {
        ch.close();
        if (sel != null) {
          sel.close();
        }
        Files.deleteIfExists(socket);
        throw e;
      }
      listener = ch;
      selector = sel;
      ioThread = new Thread(this::ioLoop, "ttrpc-io");
      ioThread.setDaemon(true);
      ioThread.start();
    }
  }

  public int openConnections() {
    return connections.size();
  }

  /** The path this server listens on. */
  public Path socket() {
    return socket;
  }

  @Override
  public void close() {
    ServerSocketChannel ch;
    Thread io;
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      ch = listener;
      io = ioThread;
    }
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException e) {
        LOG.log(System.Logger.Level.DEBUG, "closing listener", e);
      }
    }
    for (ServerConnection c : connections) {
      c.close();
    }
    if (io != null) {
      selector.wakeup();
      if (io != Thread.currentThread()) {
        try {
          // The I/O thread closes the selector, which releases the closed sockets' descriptors.
          io.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    if (ch != null) {
      try {
        Files.deleteIfExists(socket);
      } catch (IOException e) {
        LOG.log(System.Logger.Level.WARNING, "cannot delete socket " + socket, e);
      }
    }
  }

  Handler lookup(String service, String method) throws TtrpcException {
    Map<String, Handler> methods = services.get(service);
    if (methods == null) {
      throw new TtrpcException(Code.UNIMPLEMENTED, "service " + service);
    }
    Handler h = methods.get(method);
    if (h == null) {
      throw new TtrpcException(Code.UNIMPLEMENTED, "method " + method);
    }
    return h;
  }

  Executor handlerExecutor() {
    return handlerExecutor;
  }

  boolean isClosed() {
    return closed;
  }

  /** A connection changed what it waits for from another thread; let the I/O thread see it. */
  void wakeup() {
    Selector sel = selector;
    if (sel != null) {
      sel.wakeup();
    }
  }

  void connectionClosed(ServerConnection c) {
    connections.remove(c);
    // The descriptor of a registered channel is released only when the selector next runs.
    wakeup();
  }

  private void restrictPermissions() {
    try {
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException | IOException e) {
      // Best effort: the socket usually lives in a directory only root can enter anyway.
      LOG.log(System.Logger.Level.DEBUG, "cannot chmod " + socket, e);
    }
  }

  private void ioLoop() {
    ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BUFFER);
    try {
      while (!closed) {
        try {
          selectOnce(readBuffer);
        } catch (ClosedSelectorException e) {
          return;
        } catch (IOException | RuntimeException e) {
          if (closed) {
            return;
          }
          // Whatever went wrong, the other connections must keep being served.
          LOG.log(System.Logger.Level.WARNING, "ttrpc I/O loop", e);
        }
      }
    } finally {
      for (ServerConnection c : connections) {
        c.close();
      }
      try {
        selector.close();
      } catch (IOException e) {
        LOG.log(System.Logger.Level.DEBUG, "closing selector", e);
      }
    }
  }

  private void selectOnce(ByteBuffer readBuffer) throws IOException {
    if (acceptPaused) {
      long wait = acceptPausedUntil - System.nanoTime();
      if (wait <= 0) {
        acceptPaused = false;
        acceptKey.interestOps(SelectionKey.OP_ACCEPT);
      } else {
        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)));
      }
    }
    if (!acceptPaused) {
      selector.select();
    }
    Set<SelectionKey> ready = selector.selectedKeys();
    for (SelectionKey key : ready) {
      if (!key.isValid()) {
        continue;
      }
      if (key == acceptKey) {
        acceptReady();
        continue;
      }
      ServerConnection conn = (ServerConnection) key.attachment();
      try {
        if (key.isReadable()) {
          conn.onReadable(readBuffer);
        }
        if (key.isValid() && key.isWritable()) {
          conn.onWritable();
        }
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "ttrpc connection failed; closing it", e);
        conn.close();
      }
    }
    ready.clear();
  }

  private void acceptReady() {
    for (int i = 0; i < MAX_ACCEPTS_PER_WAKEUP && !closed; i++) {
      SocketChannel ch;
      try {
        ch = listener.accept();
      } catch (IOException e) {
        if (closed) {
          return;
        }
        // E.g. out of file descriptors: the listener stays readable, so stop listening briefly
        // instead of spinning; the kernel keeps the waiting clients in the backlog.
        LOG.log(System.Logger.Level.WARNING, "ttrpc accept failed: " + e.getMessage());
        acceptKey.interestOps(0);
        acceptPaused = true;
        acceptPausedUntil = System.nanoTime() + ACCEPT_BACKOFF_NANOS;
        return;
      }
      if (ch == null) {
        return;
      }
      accepted(ch);
    }
  }

  private void accepted(SocketChannel ch) {
    ServerConnection conn;
    try {
      ch.configureBlocking(false);
      SelectionKey key = ch.register(selector, SelectionKey.OP_READ);
      conn = new ServerConnection(this, ch, key, CONNECTION_IDS.incrementAndGet());
      key.attach(conn);
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "cannot serve an accepted connection", e);
      try {
        ch.close();
      } catch (IOException ignored) {
        // nothing more to release
      }
      return;
    }
    connections.add(conn);
    for (Runnable l : acceptListeners) {
      try {
        l.run();
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "accept listener failed", e);
      }
    }
  }
}
