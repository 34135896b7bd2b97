package io.krill.wasi;

import io.krill.wasi.Descriptor.DirFd;
import io.krill.wasi.Descriptor.FileFd;
import io.krill.wasi.Descriptor.ListenerFd;
import io.krill.wasi.Descriptor.OutputFd;
import io.krill.wasi.Descriptor.SocketFd;
import io.krill.wasi.Descriptor.StdinFd;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * krill's WASI preview1: the host side of every {@code wasi_snapshot_preview1} function, over a
 * {@link GuestMemory} the engine hands each call and a virtual filesystem of {@link Mount}s. Each
 * method takes the call's wasm arguments and returns its errno; {@code proc_exit} throws {@link
 * ProcExit}, and a wait krill ends throws {@link GuestInterrupted}. One instance serves one guest,
 * on its thread.
 */
public final class Wasi {
  static final int CLOCK_REALTIME = 0;
  static final int CLOCK_MONOTONIC = 1;
  static final int CLOCK_PROCESS_CPUTIME = 2;
  static final int CLOCK_THREAD_CPUTIME = 3;

  static final int WHENCE_SET = 0;
  static final int WHENCE_CUR = 1;
  static final int WHENCE_END = 2;

  static final int OFLAGS_CREAT = 1;
  static final int OFLAGS_DIRECTORY = 2;
  static final int OFLAGS_EXCL = 4;
  static final int OFLAGS_TRUNC = 8;

  static final int FDFLAGS_APPEND = 1;
  static final int FDFLAGS_NONBLOCK = 4;
  static final int LOOKUP_SYMLINK_FOLLOW = 1;

  static final int FSTFLAGS_ATIM = 1;
  static final int FSTFLAGS_ATIM_NOW = 2;
  static final int FSTFLAGS_MTIM = 4;
  static final int FSTFLAGS_MTIM_NOW = 8;

  static final int DIRENT_SIZE = 24;
  static final int FILESTAT_SIZE = 64;

  /** Beyond this, one read or write is split (the guest loops, as with a short read). */
  private static final int MAX_IO = 1 << 20;

  private static final int MAX_FDS = 1024;
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final SecureRandom RANDOM = new SecureRandom();

  /** One directory entry of an fd_readdir listing. */
  record DirEntry(String name, long ino, int type) {}

  /** What a guest gets: argv, environment, stdio, mounts and the interruption it obeys. */
  public static final class Options {
    private List<String> args = List.of();
    private List<String> env = List.of();
    private Stdin stdin;
    private WritableByteChannel stdout;
    private WritableByteChannel stderr;
    private List<Mount> mounts = List.of();
    private List<ServerSocketChannel> listeners = List.of();
    private Interruption interruption = new Interruption();

    public Options args(List<String> v) {
      args = List.copyOf(v);
      return this;
    }

    /** {@code KEY=VALUE} strings. */
    public Options env(List<String> v) {
      env = List.copyOf(v);
      return this;
    }

    public Options stdin(Stdin v) {
      stdin = v;
      return this;
    }

    public Options stdout(WritableByteChannel v) {
      stdout = v;
      return this;
    }

    public Options stderr(WritableByteChannel v) {
      stderr = v;
      return this;
    }

    public Options mounts(List<Mount> v) {
      mounts = List.copyOf(v);
      return this;
    }

    /**
     * Listening TCP sockets, already bound, the guest gets as preopened descriptors 3, 4, ...
     * before the preopened directories (the order of {@code wasmtime run --tcplisten}). The guest
     * owns them from then on: {@link Wasi#close()} closes them.
     */
    public Options listeners(List<ServerSocketChannel> v) {
      listeners = List.copyOf(v);
      return this;
    }

    public Options interruption(Interruption v) {
      interruption = v;
      return this;
    }
  }

  private final byte[][] args;
  private final byte[][] env;
  private final Vfs vfs;
  private final Interruption interruption;
  private final TreeMap<Integer, Descriptor> fds = new TreeMap<>();
  private final Stdin stdin;

  public Wasi(Options o) {
    this.args = encodeAll(o.args);
    this.env = encodeAll(o.env);
    this.vfs = new Vfs(o.mounts);
    this.interruption = o.interruption;
    this.stdin = o.stdin;
    // A stream the container does not have (`ctr run --null-io`) is /dev/null, as runc gives it:
    // reads end at once, writes are taken whole and dropped.
    fds.put(0, new StdinFd(o.stdin != null ? o.stdin : NO_INPUT));
    fds.put(1, new OutputFd(o.stdout != null ? o.stdout : discard()));
    fds.put(2, new OutputFd(o.stderr != null ? o.stderr : discard()));
    int fd = 3;
    for (ServerSocketChannel l : o.listeners) {
      try {
        l.configureBlocking(false); // krill waits for it itself, so that a kill ends the wait
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      fds.put(fd++, new ListenerFd(l));
    }
    for (Mount m : o.mounts) {
      if (m.directory()) {
        fds.put(fd++, new DirFd(Vfs.split(m.guestPath()), m.guestPath()));
      }
    }
  }

  private static final Stdin NO_INPUT =
      new Stdin() {
        @Override
        public int read(ByteBuffer dst) {
          return -1;
        }

        @Override
        public boolean ready() {
          return true;
        }
      };

  private static WritableByteChannel discard() {
    return Channels.newChannel(OutputStream.nullOutputStream());
  }

  public Interruption interruption() {
    return interruption;
  }

  /**
   * Closes every descriptor the guest left open; stdin, stdout and stderr stay open, they are the
   * caller's.
   */
  public void close() {
    for (Descriptor d : fds.values()) {
      try {
        d.close();
      } catch (IOException ignored) {
        // the guest is gone; nothing to report to
      }
    }
    fds.clear();
    if (selector != null) {
      try {
        // Completes the close of sockets still registered with it (the port is free again).
        selector.close();
      } catch (IOException ignored) {
        // nothing registered is left open by a failing close
      }
    }
  }

  private static byte[][] encodeAll(List<String> list) {
    byte[][] out = new byte[list.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = list.get(i).getBytes(StandardCharsets.UTF_8);
    }
    return out;
  }

  @FunctionalInterface
  private interface Call {
    void run() throws WasiError, IOException;
  }

  private static int call(Call c) {
    try {
      c.run();
      return Errno.SUCCESS;
    } catch (WasiError e) {
      return e.errno;
    } catch (IndexOutOfBoundsException e) {
      return Errno.FAULT;
    } catch (IOException e) {
      return Errno.of(e);
    } catch (UnsupportedOperationException e) {
      return Errno.NOTSUP;
    }
  }

  // ---- args, environment -------------------------------------------------------------------

  public int argsSizesGet(GuestMemory m, int argcPtr, int bufSizePtr) {
    return sizes(m, args, argcPtr, bufSizePtr);
  }

  public int argsGet(GuestMemory m, int argv, int buf) {
    return strings(m, args, argv, buf);
  }

  public int environSizesGet(GuestMemory m, int countPtr, int bufSizePtr) {
    return sizes(m, env, countPtr, bufSizePtr);
  }

  public int environGet(GuestMemory m, int environ, int buf) {
    return strings(m, env, environ, buf);
  }

  private static int sizes(GuestMemory m, byte[][] list, int countPtr, int sizePtr) {
    return call(
        () -> {
          int size = 0;
          for (byte[] b : list) {
            size += b.length + 1;
          }
          m.writeInt(countPtr, list.length);
          m.writeInt(sizePtr, size);
        });
  }

  private static int strings(GuestMemory m, byte[][] list, int ptrs, int buf) {
    return call(
        () -> {
          int at = buf;
          for (int i = 0; i < list.length; i++) {
            m.writeInt(ptrs + 4 * i, at);
            m.write(at, list[i], 0, list[i].length);
            m.writeByte(at + list[i].length, (byte) 0);
            at += list[i].length + 1;
          }
        });
  }

  // ---- clocks, random, process -------------------------------------------------------------

  public int clockResGet(GuestMemory m, int id, int resPtr) {
    return call(
        () -> {
          long res =
              switch (id) {
                case CLOCK_REALTIME -> 1000L;
                case CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_THREAD_CPUTIME -> 1L;
                default -> throw new WasiError(Errno.INVAL);
              };
          m.writeLong(resPtr, res);
        });
  }

  public int clockTimeGet(GuestMemory m, int id, long precision, int timePtr) {
    return call(() -> m.writeLong(timePtr, now(id)));
  }

  /**
   * The clock's time. A guest is one thread of the daemon, so its process CPU time is its thread's
   * CPU time (the JVM's per-thread CPU clock).
   */
  static long now(int id) throws WasiError {
    switch (id) {
      case CLOCK_REALTIME:
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
      case CLOCK_MONOTONIC:
        return System.nanoTime();
      case CLOCK_PROCESS_CPUTIME:
      case CLOCK_THREAD_CPUTIME:
        long cpu =
            THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : -1;
        if (cpu < 0) {
          throw new WasiError(Errno.NOTSUP);
        }
        return cpu;
      default:
        throw new WasiError(Errno.INVAL);
    }
  }

  public int randomGet(GuestMemory m, int buf, int len) {
    return call(
        () -> {
          long total = Integer.toUnsignedLong(len);
          if (Integer.toUnsignedLong(buf) + total > m.size()) {
            throw new WasiError(Errno.FAULT);
          }
          byte[] b = new byte[(int) Math.min(total, 1 << 16)];
          long done = 0;
          while (done < total) {
            int n = (int) Math.min(b.length, total - done);
            RANDOM.nextBytes(b);
            m.write(buf + (int) done, b, 0, n);
            done += n;
          }
        });
  }

  /**
   * Ends the guest. 0 to 255 are its exit status as given; a larger status (the witx type is u32)
   * is refused as Wasmtime's CLI refuses it: an error, exit status 1.
   */
  public void procExit(int code) {
    if (code >= 0 && code <= 255) {
      throw new ProcExit(code, null);
    }
    throw new ProcExit(
        1,
        "proc_exit("
            + Integer.toUnsignedString(code)
            + "): exit status outside of [0..255], reported as 1");
  }

  public int procRaise(int signal) {
    return Errno.NOSYS;
  }

  public int schedYield() {
    Thread.yield();
    interruption.check("yielding");
    return Errno.SUCCESS;
  }

  // ---- descriptors -------------------------------------------------------------------------

  private Descriptor fd(int fd) throws WasiError {
    Descriptor d = fds.get(fd);
    if (d == null) {
      throw new WasiError(Errno.BADF);
    }
    return d;
  }

  private DirFd dir(int fd) throws WasiError {
    if (fd(fd) instanceof DirFd d) {
      return d;
    }
    throw new WasiError(Errno.NOTDIR);
  }

  private FileFd file(int fd) throws WasiError {
    Descriptor d = fd(fd);
    if (d instanceof FileFd f) {
      return f;
    }
    throw new WasiError(d instanceof DirFd ? Errno.ISDIR : Errno.SPIPE);
  }

  private int insert(Descriptor d) throws WasiError {
    for (int fd = 3; fd < MAX_FDS; fd++) {
      if (!fds.containsKey(fd)) {
        fds.put(fd, d);
        return fd;
      }
    }
    throw new WasiError(Errno.MFILE);
  }

  public int fdClose(int fd) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          fds.remove(fd);
          boolean registered = d.registered();
          d.close();
          if (registered) {
            flushCloses();
          }
        });
  }

  public int fdRenumber(int from, int to) {
    return call(
        () -> {
          Descriptor d = fd(from);
          Descriptor old = fd(to);
          if (from == to) {
            return;
          }
          fds.remove(from);
          fds.put(to, d);
          boolean registered = old.registered();
          old.close();
          if (registered) {
            flushCloses();
          }
        });
  }

  public int fdFdstatGet(GuestMemory m, int fd, int ptr) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          m.writeByte(ptr, (byte) d.filetype());
          m.writeByte(ptr + 1, (byte) 0);
          m.writeShort(ptr + 2, (short) d.fdflags);
          m.writeInt(ptr + 4, 0);
          m.writeLong(ptr + 8, d.rightsBase());
          m.writeLong(ptr + 16, d.rightsInheriting());
        });
  }

  public int fdFdstatSetFlags(int fd, int flags) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          if ((flags & ~0x1f) != 0) {
            throw new WasiError(Errno.INVAL);
          }
          if (d instanceof DirFd) {
            throw new WasiError(Errno.BADF);
          }
          // Only append and nonblock change behaviour here; the sync flags are accepted.
          d.fdflags = flags;
        });
  }

  /**
   * krill does not narrow a descriptor's rights, and says so (ENOTSUP, which the wasi-testsuite
   * reads as "no rights support") instead of answering success for a narrowing it would not
   * enforce.
   */
  public int fdFdstatSetRights(int fd, long base, long inheriting) {
    return call(
        () -> {
          fd(fd);
          throw new WasiError(Errno.NOTSUP);
        });
  }

  public int fdPrestatGet(GuestMemory m, int fd, int ptr) {
    return call(
        () -> {
          if (!(fds.get(fd) instanceof DirFd d) || d.preopen == null) {
            throw new WasiError(Errno.BADF);
          }
          m.writeInt(ptr, 0);
          m.writeInt(ptr + 4, d.preopen.getBytes(StandardCharsets.UTF_8).length);
        });
  }

  public int fdPrestatDirName(GuestMemory m, int fd, int path, int len) {
    return call(
        () -> {
          if (!(fd(fd) instanceof DirFd d) || d.preopen == null) {
            throw new WasiError(Errno.BADF);
          }
          byte[] name = d.preopen.getBytes(StandardCharsets.UTF_8);
          if (Integer.toUnsignedLong(len) < name.length) {
            throw new WasiError(Errno.NAMETOOLONG);
          }
          m.write(path, name, 0, name.length);
        });
  }

  // ---- reading and writing -----------------------------------------------------------------

  /** The iovecs' total length, capped to what one call moves. */
  private static int iovTotal(GuestMemory m, int iovs, int count) throws WasiError {
    if (count < 0) {
      throw new WasiError(Errno.INVAL);
    }
    long total = 0;
    for (int i = 0; i < count; i++) {
      total += Integer.toUnsignedLong(m.readInt(iovs + 8 * i + 4));
    }
    return (int) Math.min(total, MAX_IO);
  }

  private static ByteBuffer gather(GuestMemory m, int iovs, int count) throws WasiError {
    byte[] data = new byte[iovTotal(m, iovs, count)];
    int at = 0;
    for (int i = 0; i < count && at < data.length; i++) {
      int buf = m.readInt(iovs + 8 * i);
      int len =
          (int) Math.min(Integer.toUnsignedLong(m.readInt(iovs + 8 * i + 4)), data.length - at);
      m.read(buf, data, at, len);
      at += len;
    }
    return ByteBuffer.wrap(data);
  }

  private static void scatter(GuestMemory m, int iovs, int count, byte[] data, int n) {
    scatter(m, iovs, count, data, 0, n);
  }

  private static void scatter(GuestMemory m, int iovs, int count, byte[] data, int offset, int n) {
    int at = 0;
    for (int i = 0; i < count && at < n; i++) {
      int buf = m.readInt(iovs + 8 * i);
      int len = (int) Math.min(Integer.toUnsignedLong(m.readInt(iovs + 8 * i + 4)), n - at);
      m.write(buf, data, offset + at, len);
      at += len;
    }
  }

  /** Scatters all of {@code data} (a heap buffer); how many bytes that was. */
  private static int scatter(GuestMemory m, int iovs, int count, ByteBuffer data) {
    int n = data.remaining();
    scatter(m, iovs, count, data.array(), data.arrayOffset() + data.position(), n);
    return n;
  }

  public int fdWrite(GuestMemory m, int fd, int iovs, int count, int nwrittenPtr) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          ByteBuffer data = gather(m, iovs, count);
          int n = data.remaining();
          if (d instanceof OutputFd o) {
            while (data.hasRemaining()) {
              o.out.write(data);
            }
          } else if (d instanceof FileFd f) {
            if (!f.writable) {
              throw new WasiError(Errno.BADF);
            }
            if ((f.fdflags & FDFLAGS_APPEND) != 0) {
              f.channel.position(f.channel.size());
            }
            while (data.hasRemaining()) {
              f.channel.write(data);
            }
          } else if (d instanceof SocketFd sd) {
            n = send(sd, data);
          } else if (d instanceof ListenerFd) {
            throw new WasiError(Errno.NOTCONN);
          } else if (d instanceof DirFd) {
            throw new WasiError(Errno.ISDIR);
          } else {
            throw new WasiError(Errno.BADF);
          }
          m.writeInt(nwrittenPtr, n);
        });
  }

  public int fdPwrite(GuestMemory m, int fd, int iovs, int count, long offset, int nwrittenPtr) {
    return call(
        () -> {
          FileFd f = file(fd);
          if (!f.writable) {
            throw new WasiError(Errno.BADF);
          }
          if (offset < 0) {
            throw new WasiError(Errno.INVAL);
          }
          ByteBuffer data = gather(m, iovs, count);
          int n = data.remaining();
          long at = offset;
          while (data.hasRemaining()) {
            at += f.channel.write(data, at);
          }
          m.writeInt(nwrittenPtr, n);
        });
  }

  public int fdRead(GuestMemory m, int fd, int iovs, int count, int nreadPtr) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          int total = iovTotal(m, iovs, count);
          if (d instanceof SocketFd sd) {
            m.writeInt(nreadPtr, scatter(m, iovs, count, recv(sd, total, false, false)));
            return;
          }
          ByteBuffer buf = ByteBuffer.allocate(total);
          int n;
          if (d instanceof StdinFd s) {
            n = total == 0 ? 0 : s.stdin.read(buf);
            interruption.check("reading stdin");
          } else if (d instanceof FileFd f) {
            if (!f.readable) {
              throw new WasiError(Errno.BADF);
            }
            n = total == 0 ? 0 : f.channel.read(buf);
          } else if (d instanceof ListenerFd) {
            throw new WasiError(Errno.NOTCONN);
          } else if (d instanceof DirFd) {
            throw new WasiError(Errno.ISDIR);
          } else {
            throw new WasiError(Errno.BADF);
          }
          n = Math.max(n, 0);
          scatter(m, iovs, count, buf.array(), n);
          m.writeInt(nreadPtr, n);
        });
  }

  public int fdPread(GuestMemory m, int fd, int iovs, int count, long offset, int nreadPtr) {
    return call(
        () -> {
          FileFd f = file(fd);
          if (!f.readable) {
            throw new WasiError(Errno.BADF);
          }
          if (offset < 0) {
            throw new WasiError(Errno.INVAL);
          }
          ByteBuffer buf = ByteBuffer.allocate(iovTotal(m, iovs, count));
          int n = buf.capacity() == 0 ? 0 : Math.max(0, f.channel.read(buf, offset));
          scatter(m, iovs, count, buf.array(), n);
          m.writeInt(nreadPtr, n);
        });
  }

  public int fdSeek(GuestMemory m, int fd, long offset, int whence, int newOffsetPtr) {
    return call(
        () -> {
          FileFd f = file(fd);
          long base =
              switch (whence) {
                case WHENCE_SET -> 0;
                case WHENCE_CUR -> f.channel.position();
                case WHENCE_END -> f.channel.size();
                default -> throw new WasiError(Errno.INVAL);
              };
          long to = base + offset;
          if (to < 0) {
            throw new WasiError(Errno.INVAL);
          }
          f.channel.position(to);
          m.writeLong(newOffsetPtr, to);
        });
  }

  public int fdTell(GuestMemory m, int fd, int ptr) {
    return call(() -> m.writeLong(ptr, file(fd).channel.position()));
  }

  public int fdSync(int fd) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          if (d instanceof FileFd f) {
            f.channel.force(true);
          }
        });
  }

  public int fdDatasync(int fd) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          if (d instanceof FileFd f) {
            f.channel.force(false);
          }
        });
  }

  public int fdAdvise(int fd, long offset, long len, int advice) {
    return call(
        () -> {
          file(fd);
          if (advice < 0 || advice > 5 || offset < 0 || len < 0) {
            throw new WasiError(Errno.INVAL);
          }
        });
  }

  public int fdAllocate(int fd, long offset, long len) {
    return call(
        () -> {
          FileFd f = file(fd);
          if (!f.writable) {
            throw new WasiError(Errno.PERM);
          }
          if (offset < 0 || len <= 0) {
            throw new WasiError(Errno.INVAL);
          }
          long end = offset + len;
          if (end < 0) {
            throw new WasiError(Errno.FBIG);
          }
          if (f.channel.size() < end) {
            f.channel.write(ByteBuffer.allocate(1), end - 1);
          }
        });
  }

  public int fdFilestatSetSize(int fd, long size) {
    return call(
        () -> {
          FileFd f = file(fd);
          if (!f.writable) {
            throw new WasiError(Errno.PERM);
          }
          if (size < 0) {
            throw new WasiError(Errno.INVAL);
          }
          long cur = f.channel.size();
          if (size < cur) {
            f.channel.truncate(size);
          } else if (size > cur) {
            f.channel.write(ByteBuffer.allocate(1), size - 1);
          }
        });
  }

  // ---- stat --------------------------------------------------------------------------------

  /** A file's attributes as the preview1 {@code filestat} holds them. */
  record Stat(
      long dev, long ino, int filetype, long nlink, long size, long atim, long mtim, long ctim) {}

  static int filetypeOf(BasicFileAttributes a) {
    if (a.isDirectory()) {
      return Descriptor.FILETYPE_DIRECTORY;
    }
    if (a.isRegularFile()) {
      return Descriptor.FILETYPE_REGULAR_FILE;
    }
    if (a.isSymbolicLink()) {
      return Descriptor.FILETYPE_SYMBOLIC_LINK;
    }
    return Descriptor.FILETYPE_UNKNOWN;
  }

  static Stat stat(Path host, boolean follow) throws IOException {
    LinkOption[] opts = follow ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
    Map<String, Object> u = Files.readAttributes(host, "unix:*", opts);
    int mode = (Integer) u.get("mode");
    int type =
        switch (mode & 0170000) {
          case 0040000 -> Descriptor.FILETYPE_DIRECTORY;
          case 0100000 -> Descriptor.FILETYPE_REGULAR_FILE;
          case 0120000 -> Descriptor.FILETYPE_SYMBOLIC_LINK;
          case 0020000 -> Descriptor.FILETYPE_CHARACTER_DEVICE;
          case 0060000 -> 1; // block device
          case 0140000 -> 6; // socket (stream)
          default -> Descriptor.FILETYPE_UNKNOWN;
        };
    return new Stat(
        (Long) u.get("dev"),
        (Long) u.get("ino"),
        type,
        ((Integer) u.get("nlink")).longValue(),
        (Long) u.get("size"),
        nanos((FileTime) u.get("lastAccessTime")),
        nanos((FileTime) u.get("lastModifiedTime")),
        nanos((FileTime) u.get("ctime")));
  }

  /** The stat of a located path; a virtual directory is an empty one of its own. */
  static Stat stat(Vfs.Located at, boolean follow) throws IOException {
    if (at.virtual()) {
      long ino = at.host().toString().hashCode() & 0xffffffffL;
      return new Stat(0, ino, Descriptor.FILETYPE_DIRECTORY, 1, 0, 0, 0, 0);
    }
    return stat(at.host(), follow);
  }

  private static long nanos(FileTime t) {
    Instant i = t.toInstant();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }

  private static void writeFilestat(GuestMemory m, int ptr, Stat s) {
    m.writeLong(ptr, s.dev);
    m.writeLong(ptr + 8, s.ino);
    m.writeLong(ptr + 16, s.filetype & 0xff);
    m.writeLong(ptr + 24, s.nlink);
    m.writeLong(ptr + 32, s.size);
    m.writeLong(ptr + 40, s.atim);
    m.writeLong(ptr + 48, s.mtim);
    m.writeLong(ptr + 56, s.ctim);
  }

  /** The stat of an open descriptor (stdio: a character-device-less, empty stat). */
  Stat fdStat(int fd) throws WasiError, IOException {
    Descriptor d = fd(fd);
    if (d instanceof FileFd f) {
      Stat s = stat(f.host, true);
      return new Stat(s.dev, s.ino, s.filetype, s.nlink, f.channel.size(), s.atim, s.mtim, s.ctim);
    }
    if (d instanceof DirFd dir) {
      return stat(vfs.locate(dir.vpath), true);
    }
    return new Stat(0, 0, d.filetype(), 1, 0, 0, 0, 0);
  }

  Stat pathStat(int fd, int flags, String path) throws WasiError, IOException {
    DirFd d = dir(fd);
    Vfs.Resolved r = vfs.resolve(d.vpath, path, (flags & LOOKUP_SYMLINK_FOLLOW) != 0);
    if (!r.exists()) {
      throw new WasiError(Errno.NOENT);
    }
    return stat(r.at(), !r.attrs().isSymbolicLink());
  }

  public int fdFilestatGet(GuestMemory m, int fd, int ptr) {
    return call(() -> writeFilestat(m, ptr, fdStat(fd)));
  }

  public int pathFilestatGet(GuestMemory m, int fd, int flags, int path, int len, int ptr) {
    return call(() -> writeFilestat(m, ptr, pathStat(fd, flags, string(m, path, len))));
  }

  public int fdFilestatSetTimes(int fd, long atim, long mtim, int fstflags) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          Path host;
          if (d instanceof FileFd f) {
            host = f.host;
            checkWritable(f.mount);
          } else if (d instanceof DirFd dir) {
            Vfs.Located at = vfs.locate(dir.vpath);
            checkWritable(at.mount());
            host = at.host();
          } else {
            throw new WasiError(Errno.BADF);
          }
          setTimes(host, true, atim, mtim, fstflags);
        });
  }

  public int pathFilestatSetTimes(
      GuestMemory m, int fd, int flags, int path, int len, long atim, long mtim, int fstflags) {
    return call(
        () -> {
          Vfs.Resolved r =
              vfs.resolve(
                  dir(fd).vpath, string(m, path, len), (flags & LOOKUP_SYMLINK_FOLLOW) != 0);
          if (!r.exists()) {
            throw new WasiError(Errno.NOENT);
          }
          checkWritable(r.at().mount());
          setTimes(r.at().host(), (flags & LOOKUP_SYMLINK_FOLLOW) != 0, atim, mtim, fstflags);
        });
  }

  private static void setTimes(Path host, boolean follow, long atim, long mtim, int fst)
      throws WasiError, IOException {
    if (((fst & FSTFLAGS_ATIM) != 0 && (fst & FSTFLAGS_ATIM_NOW) != 0)
        || ((fst & FSTFLAGS_MTIM) != 0 && (fst & FSTFLAGS_MTIM_NOW) != 0)
        || (fst & ~0xf) != 0) {
      throw new WasiError(Errno.INVAL);
    }
    FileTime now = FileTime.from(Instant.now());
    FileTime a =
        (fst & FSTFLAGS_ATIM_NOW) != 0
            ? now
            : (fst & FSTFLAGS_ATIM) != 0 ? FileTime.from(atim, TimeUnit.NANOSECONDS) : null;
    FileTime mt =
        (fst & FSTFLAGS_MTIM_NOW) != 0
            ? now
            : (fst & FSTFLAGS_MTIM) != 0 ? FileTime.from(mtim, TimeUnit.NANOSECONDS) : null;
    LinkOption[] opts = follow ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
    java.nio.file.attribute.BasicFileAttributeView v =
        Files.getFileAttributeView(
            host, java.nio.file.attribute.BasicFileAttributeView.class, opts);
    v.setTimes(mt, a, null);
  }

  // ---- directories -------------------------------------------------------------------------

  /** The listing of a directory: {@code .}, {@code ..}, then its entries and mount points. */
  private List<DirEntry> list(DirFd d) throws IOException {
    Vfs.Located at = vfs.locate(d.vpath);
    List<DirEntry> out = new ArrayList<>();
    long self = stat(at, true).ino;
    long parent = self;
    if (!d.vpath.isEmpty()) {
      Vfs.Located up = vfs.locate(d.vpath.subList(0, d.vpath.size() - 1));
      if (up != null) {
        parent = stat(up, true).ino;
      }
    }
    out.add(new DirEntry(".", self, Descriptor.FILETYPE_DIRECTORY));
    out.add(new DirEntry("..", parent, Descriptor.FILETYPE_DIRECTORY));
    Set<String> seen = new HashSet<>();
    List<String> mountPoints = vfs.mountPointsUnder(d.vpath);
    if (!at.virtual()) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(at.host())) {
        for (Path p : ds) {
          String name = p.getFileName().toString();
          if (mountPoints.contains(name)) {
            continue; // listed below, as the mount shows it
          }
          seen.add(name);
          try {
            Stat s = stat(p, false);
            out.add(new DirEntry(name, s.ino, s.filetype));
          } catch (IOException gone) {
            // removed while listing: not listed
          }
        }
      }
    }
    for (String name : mountPoints) {
      if (seen.add(name)) {
        try {
          Stat s = stat(vfs.locate(child(d.vpath, name)), true);
          out.add(new DirEntry(name, s.ino, s.filetype));
        } catch (IOException gone) {
          // a mount whose source is gone is not listed
        }
      }
    }
    return out;
  }

  private static List<String> child(List<String> dir, String name) {
    List<String> c = new ArrayList<>(dir);
    c.add(name);
    return c;
  }

  /**
   * Entries from {@code cookie} on (the cookie is the index of the next entry, as Wasmtime's: 1
   * after {@code .}, 2 after {@code ..}); the last entry that does not fit is cut, and a full
   * buffer tells the guest to call again.
   */
  public int fdReaddir(GuestMemory m, int fd, int buf, int len, long cookie, int bufUsedPtr) {
    return call(
        () -> {
          DirFd d = dir(fd);
          if (cookie < 0) {
            throw new WasiError(Errno.INVAL);
          }
          if (cookie == 0 || d.listing == null) {
            d.listing = list(d);
          }
          long cap = Integer.toUnsignedLong(len);
          long used = 0;
          byte[] header = new byte[DIRENT_SIZE];
          ByteBuffer hb = ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN);
          for (long i = cookie; i < d.listing.size() && used < cap; i++) {
            DirEntry e = d.listing.get((int) i);
            byte[] name = e.name.getBytes(StandardCharsets.UTF_8);
            hb.clear();
            hb.putLong(0, i + 1);
            hb.putLong(8, e.ino);
            hb.putInt(16, name.length);
            hb.put(20, (byte) e.type);
            int h = (int) Math.min(DIRENT_SIZE, cap - used);
            m.write(buf + (int) used, header, 0, h);
            used += h;
            int n = (int) Math.min(name.length, cap - used);
            m.write(buf + (int) used, name, 0, n);
            used += n;
          }
          m.writeInt(bufUsedPtr, (int) used);
        });
  }

  // ---- paths -------------------------------------------------------------------------------

  private static String string(GuestMemory m, int ptr, int len) throws WasiError {
    byte[] b = new byte[len];
    m.read(ptr, b, 0, len);
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b))
          .toString();
    } catch (CharacterCodingException e) {
      throw new WasiError(Errno.ILSEQ);
    }
  }

  private static void checkWritable(Mount mount) throws WasiError {
    if (mount.readOnly()) {
      throw new WasiError(Errno.ROFS);
    }
  }

  public int pathOpen(
      GuestMemory m,
      int dirfd,
      int dirflags,
      int path,
      int len,
      int oflags,
      long rightsBase,
      long rightsInheriting,
      int fdflags,
      int fdPtr) {
    return call(
        () -> {
          DirFd d = dir(dirfd);
          String p = string(m, path, len);
          boolean creat = (oflags & OFLAGS_CREAT) != 0;
          boolean excl = (oflags & OFLAGS_EXCL) != 0;
          boolean trunc = (oflags & OFLAGS_TRUNC) != 0;
          boolean directory = (oflags & OFLAGS_DIRECTORY) != 0;
          boolean follow = (dirflags & LOOKUP_SYMLINK_FOLLOW) != 0 && !(creat && excl);
          Vfs.Resolved r = vfs.resolve(d.vpath, p, follow);
          boolean write =
              trunc
                  || (fdflags & FDFLAGS_APPEND) != 0
                  || (rightsBase
                          & (Rights.FD_WRITE
                              | Rights.FD_DATASYNC
                              | Rights.FD_ALLOCATE
                              | Rights.FD_FILESTAT_SET_SIZE))
                      != 0;
          boolean read = (rightsBase & (Rights.FD_READ | Rights.FD_READDIR)) != 0 || !write;
          if (r.exists()) {
            if (creat && excl) {
              throw new WasiError(Errno.EXIST);
            }
            if (r.attrs().isSymbolicLink()) {
              throw new WasiError(Errno.LOOP);
            }
            if (r.attrs().isDirectory()) {
              // As Wasmtime: only FD_WRITE (or truncation, or append) asks to write a directory;
              // the other write-side rights (datasync, allocate, set size) do not apply to one and
              // are dropped, as path_open may. Go's os.Open(dir) asks for them, without
              // O_DIRECTORY.
              if ((rightsBase & Rights.FD_WRITE) != 0 || trunc || (fdflags & FDFLAGS_APPEND) != 0) {
                throw new WasiError(Errno.ISDIR);
              }
              m.writeInt(fdPtr, insert(new DirFd(r.vpath(), null)));
              return;
            }
            if (directory || r.trailingSlash()) {
              throw new WasiError(Errno.NOTDIR);
            }
          } else {
            if (!creat) {
              throw new WasiError(Errno.NOENT);
            }
            if (directory || r.trailingSlash()) {
              throw new WasiError(Errno.ISDIR);
            }
          }
          if (write || creat) {
            checkWritable(r.at().mount());
          }
          Set<OpenOption> opts = new HashSet<>();
          if (read) {
            opts.add(StandardOpenOption.READ);
          }
          if (write) {
            opts.add(StandardOpenOption.WRITE);
          }
          if (creat) {
            opts.add(excl ? StandardOpenOption.CREATE_NEW : StandardOpenOption.CREATE);
            if (!write) {
              opts.add(StandardOpenOption.WRITE);
            }
          }
          if (trunc) {
            opts.add(StandardOpenOption.TRUNCATE_EXISTING);
          }
          FileChannel ch = openFile(r.at(), opts);
          FileFd f = new FileFd(ch, r.at().host(), r.at().mount(), read, write);
          f.fdflags = fdflags & 0x1f;
          try {
            m.writeInt(fdPtr, insert(f));
          } catch (WasiError | RuntimeException e) {
            ch.close();
            throw e;
          }
        });
  }

  /**
   * Opens a resolved file: a mount's root (a file bind mount, whose host source may be a symlink)
   * by its host path, anything else through its parent opened without following symlinks, and the
   * file itself with O_NOFOLLOW.
   */
  private static FileChannel openFile(Vfs.Located at, Set<OpenOption> opts) throws IOException {
    if (at.mountRoot()) {
      return FileChannel.open(at.host(), opts);
    }
    Set<OpenOption> nofollow = new HashSet<>(opts);
    nofollow.add(LinkOption.NOFOLLOW_LINKS);
    try (SecureDirectoryStream<Path> parent = Vfs.openParent(at)) {
      return (FileChannel) parent.newByteChannel(Vfs.leaf(at), nofollow);
    }
  }

  /** The parent directory of a path to create or remove, and the last component's name. */
  private Vfs.Resolved parentOf(DirFd d, String p) throws WasiError, IOException {
    return vfs.resolve(d.vpath, p, false);
  }

  public int pathCreateDirectory(GuestMemory m, int fd, int path, int len) {
    return call(
        () -> {
          Vfs.Resolved r = parentOf(dir(fd), string(m, path, len));
          if (r.exists()) {
            throw new WasiError(Errno.EXIST);
          }
          checkWritable(r.at().mount());
          Files.createDirectory(r.at().host());
        });
  }

  public int pathRemoveDirectory(GuestMemory m, int fd, int path, int len) {
    return call(
        () -> {
          Vfs.Resolved r = parentOf(dir(fd), string(m, path, len));
          if (!r.exists()) {
            throw new WasiError(Errno.NOENT);
          }
          if (!r.attrs().isDirectory()) {
            throw new WasiError(Errno.NOTDIR);
          }
          if (r.at().mountRoot()) {
            throw new WasiError(Errno.PERM);
          }
          checkWritable(r.at().mount());
          try (SecureDirectoryStream<Path> parent = Vfs.openParent(r.at())) {
            parent.deleteDirectory(Vfs.leaf(r.at()));
          }
        });
  }

  public int pathUnlinkFile(GuestMemory m, int fd, int path, int len) {
    return call(
        () -> {
          Vfs.Resolved r = parentOf(dir(fd), string(m, path, len));
          if (!r.exists()) {
            throw new WasiError(Errno.NOENT);
          }
          if (r.attrs().isDirectory()) {
            throw new WasiError(Errno.ISDIR);
          }
          if (r.at().mountRoot()) {
            throw new WasiError(Errno.PERM);
          }
          checkWritable(r.at().mount());
          try (SecureDirectoryStream<Path> parent = Vfs.openParent(r.at())) {
            parent.deleteFile(Vfs.leaf(r.at()));
          }
        });
  }

  public int pathRename(
      GuestMemory m, int oldFd, int oldPath, int oldLen, int newFd, int newPath, int newLen) {
    return call(
        () -> {
          Vfs.Resolved from = parentOf(dir(oldFd), string(m, oldPath, oldLen));
          Vfs.Resolved to = parentOf(dir(newFd), string(m, newPath, newLen));
          if (!from.exists()) {
            throw new WasiError(Errno.NOENT);
          }
          if (from.at().mount() != to.at().mount()) {
            throw new WasiError(Errno.XDEV);
          }
          if (from.at().mountRoot() || to.at().mountRoot()) {
            throw new WasiError(Errno.PERM);
          }
          checkWritable(from.at().mount());
          if (to.exists()) {
            if (from.attrs().isDirectory() && !to.attrs().isDirectory()) {
              throw new WasiError(Errno.NOTDIR);
            }
            if (!from.attrs().isDirectory() && to.attrs().isDirectory()) {
              throw new WasiError(Errno.ISDIR);
            }
          } else if (from.attrs().isDirectory() == false && to.trailingSlash()) {
            throw new WasiError(Errno.NOTDIR);
          }
          try (SecureDirectoryStream<Path> fromDir = Vfs.openParent(from.at());
              SecureDirectoryStream<Path> toDir = Vfs.openParent(to.at())) {
            fromDir.move(Vfs.leaf(from.at()), toDir, Vfs.leaf(to.at()));
          } catch (AtomicMoveNotSupportedException e) {
            throw new WasiError(Errno.XDEV);
          }
        });
  }

  public int pathReadlink(
      GuestMemory m, int fd, int path, int len, int buf, int bufLen, int bufUsedPtr) {
    return call(
        () -> {
          Vfs.Resolved r = parentOf(dir(fd), string(m, path, len));
          if (!r.exists()) {
            throw new WasiError(Errno.NOENT);
          }
          if (!r.attrs().isSymbolicLink()) {
            throw new WasiError(Errno.INVAL);
          }
          byte[] target =
              Files.readSymbolicLink(r.at().host()).toString().getBytes(StandardCharsets.UTF_8);
          int n = (int) Math.min(target.length, Integer.toUnsignedLong(bufLen));
          m.write(buf, target, 0, n);
          m.writeInt(bufUsedPtr, n);
        });
  }

  public int pathSymlink(GuestMemory m, int oldPath, int oldLen, int fd, int newPath, int newLen) {
    return call(
        () -> {
          String target = string(m, oldPath, oldLen);
          if (target.isEmpty()) {
            throw new WasiError(Errno.NOENT);
          }
          if (target.startsWith("/")) {
            throw new WasiError(Errno.PERM);
          }
          Vfs.Resolved r = parentOf(dir(fd), string(m, newPath, newLen));
          if (r.exists()) {
            throw new WasiError(Errno.EXIST);
          }
          if (r.trailingSlash()) {
            throw new WasiError(Errno.NOENT);
          }
          checkWritable(r.at().mount());
          Files.createSymbolicLink(r.at().host(), Path.of(target));
        });
  }

  public int pathLink(
      GuestMemory m,
      int oldFd,
      int oldFlags,
      int oldPath,
      int oldLen,
      int newFd,
      int newPath,
      int newLen) {
    return call(
        () -> {
          Vfs.Resolved from =
              vfs.resolve(
                  dir(oldFd).vpath,
                  string(m, oldPath, oldLen),
                  (oldFlags & LOOKUP_SYMLINK_FOLLOW) != 0);
          Vfs.Resolved to = parentOf(dir(newFd), string(m, newPath, newLen));
          if (!from.exists()) {
            throw new WasiError(Errno.NOENT);
          }
          if (from.attrs().isDirectory()) {
            throw new WasiError(Errno.PERM);
          }
          if (to.exists()) {
            throw new WasiError(Errno.EXIST);
          }
          if (to.trailingSlash()) {
            // linkat(2): "name/" would be a directory, and the link's source is not one
            throw new WasiError(Errno.NOENT);
          }
          if (from.at().mount() != to.at().mount()) {
            throw new WasiError(Errno.XDEV);
          }
          checkWritable(to.at().mount());
          Files.createLink(to.at().host(), from.at().host());
        });
  }

  // ---- poll --------------------------------------------------------------------------------

  static final int EVENTTYPE_CLOCK = 0;
  static final int EVENTTYPE_FD_READ = 1;
  static final int EVENTTYPE_FD_WRITE = 2;
  static final int SUBSCRIPTION_SIZE = 48;
  static final int EVENT_SIZE = 32;

  /** One subscription, read from either layout. */
  record Subscription(
      long userdata, int tag, int clockId, long timeout, boolean absolute, int fd) {}

  /** How often a poll that waits on stdin looks again. */
  private static final long STDIN_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

  public int pollOneoff(GuestMemory m, int in, int out, int n, int neventsPtr) {
    return call(
        () -> {
          if (n <= 0) {
            throw new WasiError(Errno.INVAL);
          }
          List<Subscription> subs = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            int s = in + i * SUBSCRIPTION_SIZE;
            int tag = m.readByte(s + 8);
            if (tag == EVENTTYPE_CLOCK) {
              subs.add(
                  new Subscription(
                      m.readLong(s),
                      tag,
                      m.readInt(s + 16),
                      m.readLong(s + 24),
                      (m.readShort(s + 40) & 1) != 0,
                      -1));
            } else {
              subs.add(new Subscription(m.readLong(s), tag, 0, 0, false, m.readInt(s + 16)));
            }
          }
          m.writeInt(neventsPtr, poll(m, subs, out));
        });
  }

  /** Waits until at least one subscription fires, writes the events, returns how many. */
  int poll(GuestMemory m, List<Subscription> subs, int out) throws WasiError {
    long start = System.nanoTime();
    long deadline = Long.MAX_VALUE;
    for (Subscription s : subs) {
      if (s.tag == EVENTTYPE_CLOCK) {
        long wait;
        if (s.absolute) {
          wait = s.timeout - now(s.clockId);
        } else {
          now(s.clockId); // an unknown clock is EINVAL
          wait = s.timeout;
        }
        deadline = Math.min(deadline, start + Math.max(0, Math.min(wait, Long.MAX_VALUE / 4)));
      } else if (s.tag != EVENTTYPE_FD_READ && s.tag != EVENTTYPE_FD_WRITE) {
        throw new WasiError(Errno.INVAL);
      }
    }
    while (true) {
      int events = 0;
      long nowNanos = System.nanoTime();
      for (Subscription s : subs) {
        if (s.tag == EVENTTYPE_CLOCK) {
          if (nowNanos - deadline >= 0) {
            events = event(m, out, events, s, Errno.SUCCESS, 0);
          }
          continue;
        }
        Descriptor d = fds.get(s.fd);
        if (d == null) {
          events = event(m, out, events, s, Errno.BADF, 0);
        } else if (d instanceof StdinFd sd) {
          if (s.tag == EVENTTYPE_FD_WRITE) {
            events = event(m, out, events, s, Errno.BADF, 0);
          } else if (sd.stdin.ready()) {
            events = event(m, out, events, s, Errno.SUCCESS, 1);
          }
        } else if (d instanceof FileFd f) {
          long avail = 0;
          try {
            avail = Math.max(0, f.channel.size() - f.channel.position());
          } catch (IOException e) {
            // reported as ready with nothing to read; the read says why
          }
          events = event(m, out, events, s, Errno.SUCCESS, s.tag == EVENTTYPE_FD_READ ? avail : 0);
        } else if (d instanceof OutputFd) {
          events =
              event(m, out, events, s, s.tag == EVENTTYPE_FD_WRITE ? Errno.SUCCESS : Errno.BADF, 0);
        } else if (d instanceof ListenerFd l) {
          if (s.tag == EVENTTYPE_FD_WRITE) {
            events = event(m, out, events, s, Errno.NOTCONN, 0);
          } else if (ready(l.channel, SelectionKey.OP_ACCEPT)) {
            events = event(m, out, events, s, Errno.SUCCESS, 1);
          }
        } else if (d instanceof SocketFd sd) {
          try {
            selectable(sd);
          } catch (IOException e) {
            // closed: the selector's answer, or the guest's next call, says so
          }
          if (s.tag == EVENTTYPE_FD_WRITE) {
            if (sd.channel.socket().isOutputShutdown()) {
              events = event(m, out, events, s, Errno.PIPE, 0);
            } else if (ready(sd.channel, SelectionKey.OP_WRITE)) {
              events = event(m, out, events, s, Errno.SUCCESS, 0);
            }
          } else {
            int errno = fill(sd);
            if (errno != Errno.SUCCESS) {
              events = event(m, out, events, s, errno, 0);
            } else if (sd.pending.hasRemaining() || sd.eof) {
              events = eventHangup(m, out, events, s, sd.pending.remaining(), sd.eof);
            }
          }
        } else {
          events = event(m, out, events, s, Errno.BADF, 0);
        }
      }
      if (events > 0) {
        return events;
      }
      long left = deadline - System.nanoTime();
      boolean waitsOnStdin =
          subs.stream()
              .anyMatch(s -> s.tag == EVENTTYPE_FD_READ && fds.get(s.fd) instanceof StdinFd);
      List<SelectionKey> keys = new ArrayList<>();
      for (Subscription s : subs) {
        Descriptor d = fds.get(s.fd);
        if (d instanceof ListenerFd l) {
          keys.add(interest(l.channel, SelectionKey.OP_ACCEPT));
        } else if (d instanceof SocketFd sd) {
          int op = s.tag == EVENTTYPE_FD_WRITE ? SelectionKey.OP_WRITE : SelectionKey.OP_READ;
          SelectionKey k = interest(sd.channel, op | keyOps(keys, sd.channel));
          if (!keys.contains(k)) {
            keys.add(k);
          }
        }
      }
      long wait = waitsOnStdin ? Math.min(left, STDIN_POLL_NANOS) : left;
      if (keys.isEmpty()) {
        interruption.sleep(wait, "polling");
      } else {
        select(keys, wait, "polling");
      }
    }
  }

  /** The interest a channel already has among {@code keys} (a read and a write on one socket). */
  private static int keyOps(List<SelectionKey> keys, SelectableChannel ch) {
    for (SelectionKey k : keys) {
      if (k.channel() == ch) {
        return k.interestOps();
      }
    }
    return 0;
  }

  private static int eventHangup(
      GuestMemory m, int out, int index, Subscription s, long nbytes, boolean hangup) {
    int n = event(m, out, index, s, Errno.SUCCESS, nbytes);
    if (hangup) {
      m.writeShort(out + index * EVENT_SIZE + 24, (short) EVENTRWFLAGS_HANGUP);
    }
    return n;
  }

  private static int event(
      GuestMemory m, int out, int index, Subscription s, int errno, long nbytes) {
    int e = out + index * EVENT_SIZE;
    m.writeLong(e, s.userdata);
    m.writeShort(e + 8, (short) errno);
    m.writeByte(e + 10, (byte) s.tag);
    m.writeByte(e + 11, (byte) 0);
    m.writeInt(e + 12, 0);
    m.writeLong(e + 16, nbytes);
    m.writeShort(e + 24, (short) 0);
    return index + 1;
  }

  // ---- sockets -----------------------------------------------------------------------------

  static final int RIFLAGS_RECV_PEEK = 1;
  static final int RIFLAGS_RECV_WAITALL = 2;
  static final int SDFLAGS_RD = 1;
  static final int SDFLAGS_WR = 2;
  static final int EVENTRWFLAGS_HANGUP = 1;

  /** What one host read of a socket takes at most. */
  private static final int SOCKET_CHUNK = 1 << 16;

  /** Waits on sockets; a kill wakes it ({@link Interruption#onInterrupt}). */
  private Selector selector;

  private Selector selector() throws IOException {
    if (selector == null) {
      selector = Selector.open();
      Selector s = selector;
      interruption.onInterrupt(s::wakeup);
    }
    return selector;
  }

  /**
   * A socket channel registered with a selector is closed for real only when its key is dropped, at
   * the selector's next selection: done at once, so the peer sees the close when the guest makes
   * it.
   */
  private void flushCloses() throws IOException {
    if (selector != null) {
      selector.selectNow();
      selector.selectedKeys().clear();
    }
  }

  private SelectionKey interest(SelectableChannel ch, int ops) {
    try {
      SelectionKey k = ch.keyFor(selector());
      if (k == null) {
        return ch.register(selector(), ops);
      }
      k.interestOps(ops);
      return k;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether {@code ch} is ready for {@code op} now. */
  private boolean ready(SelectableChannel ch, int op) {
    SelectionKey k = interest(ch, op);
    try {
      selector.selectNow();
      return selector.selectedKeys().contains(k) && (k.readyOps() & op) != 0;
    } catch (IOException e) {
      return true; // the call the guest makes next reports the error
    } finally {
      release(List.of(k));
    }
  }

  /**
   * Ends a selection's interest in its channels. A listener's key is dropped at once, not kept: a
   * channel registered with a selector is closed in the kernel only at that selector's next
   * selection, and a graceful stop closes the listeners from another thread while the guest may
   * wait in a connection's read, where no selection comes (new connections would queue, not be
   * refused).
   */
  private void release(List<SelectionKey> keys) {
    boolean dropped = false;
    for (SelectionKey k : keys) {
      if (k.channel() instanceof ServerSocketChannel) {
        k.cancel();
        dropped = true;
      } else if (k.isValid()) {
        k.interestOps(0);
      }
    }
    try {
      if (dropped) {
        selector.selectNow();
      }
    } catch (IOException e) {
      // the call the guest makes next reports it
    } finally {
      selector.selectedKeys().clear();
    }
  }

  /** Waits until one of {@code keys} is ready, {@code nanos} pass or the guest is killed. */
  private void select(List<SelectionKey> keys, long nanos, String what) {
    interruption.check(what);
    try {
      if (nanos <= 0) {
        selector.selectNow();
      } else if (nanos >= Long.MAX_VALUE / 8) {
        selector.select();
      } else {
        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos + 999_999)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      release(keys);
    }
    interruption.check(what);
  }

  private void await(SelectableChannel ch, int op, String what) {
    select(List.of(interest(ch, op)), Long.MAX_VALUE, what);
  }

  private static boolean nonblocking(Descriptor d) {
    return (d.fdflags & FDFLAGS_NONBLOCK) != 0;
  }

  /** Where every socket read of the session lands first (direct: the JDK copies none). */
  private ByteBuffer readChunk;

  /** Reads what the socket has now into its pending bytes: how many, or -1 at its end. */
  private int readMore(SocketFd s) throws IOException {
    if (s.eof) {
      return -1;
    }
    if (readChunk == null) {
      readChunk = ByteBuffer.allocateDirect(SOCKET_CHUNK);
    }
    ByteBuffer chunk = readChunk.clear();
    int n = s.channel.read(chunk);
    if (n < 0) {
      s.eof = true;
    } else if (n > 0) {
      chunk.flip();
      ByteBuffer all = ByteBuffer.allocate(s.pending.remaining() + n);
      all.put(s.pending).put(chunk).flip();
      s.pending = all;
    }
    return n;
  }

  /** For poll: reads ahead if nothing is pending; the errno of a failed read. */
  private int fill(SocketFd s) {
    if (s.pending.hasRemaining() || s.eof) {
      return Errno.SUCCESS;
    }
    try {
      readMore(s);
      return Errno.SUCCESS;
    } catch (IOException e) {
      return Errno.of(e);
    }
  }

  /**
   * Receives into {@code dst}: waits for at least one byte (all of {@code dst} with {@code
   * waitall}) or the end of the stream, unless the descriptor is non-blocking (EAGAIN when nothing
   * is there). A {@code peek} leaves the bytes to be received again.
   */
  private ByteBuffer recv(SocketFd s, int want, boolean peek, boolean waitall)
      throws IOException, WasiError {
    if (want == 0) {
      return ByteBuffer.allocate(0);
    }
    if (nonblocking(s)) {
      selectable(s);
    }
    while (true) {
      int have = s.pending.remaining();
      if ((waitall ? have >= want : have > 0) || s.eof) {
        break;
      }
      int n = s.channel.isBlocking() ? blocking(s, this::readMore, RECEIVING) : readMore(s);
      if (n != 0) {
        continue;
      }
      if (nonblocking(s)) {
        if (have > 0) {
          break;
        }
        throw new WasiError(Errno.AGAIN);
      }
      await(s.channel, SelectionKey.OP_READ, RECEIVING);
    }
    int n = Math.min(want, s.pending.remaining());
    ByteBuffer got = s.pending.slice(s.pending.position(), n);
    if (!peek) {
      s.pending.position(s.pending.position() + n);
    }
    return got;
  }

  private static final String RECEIVING = "receiving from a socket";
  private static final String SENDING = "sending to a socket";

  /**
   * Makes a connection's host socket non-blocking, for good: for a selector (poll_oneoff) or a
   * guest that asked for non-blocking I/O. Until then it blocks in the kernel, which costs fewer
   * system calls per request than a non-blocking read that waits in a selector.
   */
  private static void selectable(SocketFd s) throws IOException {
    if (s.channel.isBlocking()) {
      s.channel.configureBlocking(false);
    }
  }

  @FunctionalInterface
  private interface SocketIo {
    int run(SocketFd s) throws IOException;
  }

  /** The connection the guest waits on in a blocking read or write: a kill closes it. */
  private volatile SocketChannel blockedOn;

  private boolean closesBlockedOnKill;

  /**
   * Runs a read or write that may block on {@code s}'s host socket; a kill of the guest ends it by
   * closing the socket (a graceful stop does not: what the guest accepted goes on).
   */
  private int blocking(SocketFd s, SocketIo io, String what) throws IOException {
    if (!closesBlockedOnKill) {
      closesBlockedOnKill = true;
      interruption.onInterrupt(this::closeBlocked);
    }
    // Set before the check, as interrupt() sets its flag before it reads this: one sees the other.
    blockedOn = s.channel;
    try {
      interruption.check(what);
      return io.run(s);
    } catch (IOException e) {
      interruption.check(what); // a kill closed it
      throw e;
    } finally {
      blockedOn = null;
    }
  }

  private void closeBlocked() {
    SocketChannel c = blockedOn;
    if (c != null && interruption.interrupted()) {
      try {
        c.close();
      } catch (IOException e) {
        // the guest is ending; its wait is over either way
      }
    }
  }

  /** Sends all of {@code data} (what fits now if non-blocking; EAGAIN if nothing does). */
  private int send(SocketFd s, ByteBuffer data) throws IOException, WasiError {
    int sent = 0;
    try {
      if (nonblocking(s)) {
        selectable(s);
      }
      if (s.channel.isBlocking()) {
        return blocking(s, c -> c.channel.write(data), SENDING);
      }
      while (data.hasRemaining()) {
        int w = s.channel.write(data);
        sent += w;
        if (w > 0) {
          continue;
        }
        if (nonblocking(s)) {
          if (sent > 0) {
            break;
          }
          throw new WasiError(Errno.AGAIN);
        }
        await(s.channel, SelectionKey.OP_WRITE, SENDING);
      }
    } catch (ClosedChannelException e) {
      throw new WasiError(Errno.PIPE); // shut down for writing
    }
    return sent;
  }

  private SocketFd socket(int fd) throws WasiError {
    Descriptor d = fd(fd);
    if (d instanceof SocketFd s) {
      return s;
    }
    throw new WasiError(d instanceof ListenerFd ? Errno.NOTCONN : Errno.NOTSOCK);
  }

  public int sockAccept(GuestMemory m, int fd, int flags, int fdPtr) {
    return call(
        () -> {
          Descriptor d = fd(fd);
          if (!(d instanceof ListenerFd l)) {
            throw new WasiError(d instanceof SocketFd ? Errno.INVAL : Errno.NOTSOCK);
          }
          if ((flags & ~FDFLAGS_NONBLOCK) != 0) {
            throw new WasiError(Errno.INVAL);
          }
          while (true) {
            if (interruption.acceptingStopped()) {
              // as accept(2) on a listening socket shut down for reading
              throw new WasiError(Errno.INVAL);
            }
            SocketChannel c = l.channel.accept();
            if (c != null) {
              SocketFd s = new SocketFd(c);
              s.fdflags = flags;
              int nfd;
              try {
                nfd = insert(s);
              } catch (WasiError e) {
                c.close();
                throw e;
              }
              m.writeInt(fdPtr, nfd);
              return;
            }
            if (nonblocking(l)) {
              throw new WasiError(Errno.AGAIN);
            }
            await(l.channel, SelectionKey.OP_ACCEPT, "accepting a connection");
          }
        });
  }

  public int sockRecv(
      GuestMemory m, int fd, int iovs, int count, int riflags, int nreadPtr, int roflagsPtr) {
    return call(
        () -> {
          SocketFd s = socket(fd);
          if ((riflags & ~(RIFLAGS_RECV_PEEK | RIFLAGS_RECV_WAITALL)) != 0) {
            throw new WasiError(Errno.INVAL);
          }
          ByteBuffer got =
              recv(
                  s,
                  iovTotal(m, iovs, count),
                  (riflags & RIFLAGS_RECV_PEEK) != 0,
                  (riflags & RIFLAGS_RECV_WAITALL) != 0);
          m.writeInt(nreadPtr, scatter(m, iovs, count, got));
          m.writeShort(roflagsPtr, (short) 0); // a stream is never truncated
        });
  }

  public int sockSend(GuestMemory m, int fd, int iovs, int count, int siflags, int nwrittenPtr) {
    return call(
        () -> {
          SocketFd s = socket(fd);
          m.writeInt(nwrittenPtr, send(s, gather(m, iovs, count)));
        });
  }

  public int sockShutdown(int fd, int how) {
    return call(
        () -> {
          SocketFd s = socket(fd);
          if (how == 0 || (how & ~(SDFLAGS_RD | SDFLAGS_WR)) != 0) {
            throw new WasiError(Errno.INVAL);
          }
          if ((how & SDFLAGS_RD) != 0) {
            // Reads end here. Linux sends the peer nothing for SHUT_RD, and data that comes after
            // it still makes the close a reset, so the host socket need not be told.
            s.eof = true;
            s.pending = ByteBuffer.allocate(0);
          }
          if ((how & SDFLAGS_WR) != 0) {
            s.channel.shutdownOutput();
          }
        });
  }
}
