package io.krill.wasi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.List;

/** An open descriptor of the guest's table. */
abstract sealed class Descriptor {
  static final int FILETYPE_UNKNOWN = 0;
  static final int FILETYPE_CHARACTER_DEVICE = 2;
  static final int FILETYPE_DIRECTORY = 3;
  static final int FILETYPE_REGULAR_FILE = 4;
  static final int FILETYPE_SOCKET_STREAM = 6;
  static final int FILETYPE_SYMBOLIC_LINK = 7;

  /** fdflags the guest set (append, nonblock, ...), as fd_fdstat_get reports them. */
  int fdflags;

  abstract int filetype();

  abstract long rightsBase();

  long rightsInheriting() {
    return 0;
  }

  void close() throws IOException {}

  /**
   * A socket registered with the session's selector: closed for real only at the selector's next
   * selection.
   */
  boolean registered() {
    return false;
  }

  /** fd 0, served by krill's {@link Stdin}. */
  static final class StdinFd extends Descriptor {
    final Stdin stdin;

    StdinFd(Stdin stdin) {
      this.stdin = stdin;
    }

    @Override
    int filetype() {
      return FILETYPE_UNKNOWN;
    }

    @Override
    long rightsBase() {
      return Rights.FD_READ | Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS;
    }
  }

  /** stdout or stderr: a channel krill owns (a FIFO opened without blocking, a log file). */
  static final class OutputFd extends Descriptor {
    final WritableByteChannel out;

    OutputFd(WritableByteChannel out) {
      this.out = out;
    }

    @Override
    int filetype() {
      return FILETYPE_UNKNOWN;
    }

    @Override
    long rightsBase() {
      return Rights.FD_WRITE | Rights.POLL_FD_READWRITE | Rights.FD_FDSTAT_SET_FLAGS;
    }

    /** The channel is krill's (it may outlive the guest, until a reader drains it): kept open. */
    @Override
    void close() {}
  }

  /** A regular file (or device) opened through the virtual filesystem. */
  static final class FileFd extends Descriptor {
    final FileChannel channel;
    final Path host;
    final Mount mount;
    final boolean readable;
    final boolean writable;

    FileFd(FileChannel channel, Path host, Mount mount, boolean readable, boolean writable) {
      this.channel = channel;
      this.host = host;
      this.mount = mount;
      this.readable = readable;
      this.writable = writable;
    }

    @Override
    int filetype() {
      return FILETYPE_REGULAR_FILE;
    }

    @Override
    long rightsBase() {
      long r =
          Rights.FD_SEEK
              | Rights.FD_TELL
              | Rights.FD_FDSTAT_SET_FLAGS
              | Rights.FD_FILESTAT_GET
              | Rights.FD_ADVISE
              | Rights.POLL_FD_READWRITE
              | Rights.FD_SYNC
              | Rights.FD_DATASYNC;
      if (readable) {
        r |= Rights.FD_READ;
      }
      if (writable) {
        r |= Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE;
      }
      return r;
    }

    @Override
    void close() throws IOException {
      channel.close();
    }
  }

  /** A directory: a preopen ({@code preopen} is its guest name) or one the guest opened. */
  static final class DirFd extends Descriptor {
    final List<String> vpath;
    final String preopen;

    /** The listing fd_readdir pages through, read again when the guest starts at cookie 0. */
    List<Wasi.DirEntry> listing;

    DirFd(List<String> vpath, String preopen) {
      this.vpath = List.copyOf(vpath);
      this.preopen = preopen;
    }

    @Override
    int filetype() {
      return FILETYPE_DIRECTORY;
    }

    @Override
    long rightsBase() {
      return Rights.DIRECTORY_BASE;
    }

    @Override
    long rightsInheriting() {
      return Rights.ALL;
    }
  }

  /**
   * A listening TCP socket krill opened for the guest (a preopen, as {@code wasmtime run
   * --tcplisten} gives one): {@code sock_accept} takes connections from it. Non-blocking on the
   * host; a guest that has not set NONBLOCK waits in krill, where a kill ends the wait.
   */
  static final class ListenerFd extends Descriptor {
    final ServerSocketChannel channel;

    ListenerFd(ServerSocketChannel channel) {
      this.channel = channel;
    }

    @Override
    int filetype() {
      return FILETYPE_SOCKET_STREAM;
    }

    @Override
    long rightsBase() {
      return Rights.FD_READ
          | Rights.POLL_FD_READWRITE
          | Rights.FD_FDSTAT_SET_FLAGS
          | Rights.FD_FILESTAT_GET
          | Rights.SOCK_ACCEPT;
    }

    @Override
    long rightsInheriting() {
      return Rights.FD_READ
          | Rights.FD_WRITE
          | Rights.POLL_FD_READWRITE
          | Rights.FD_FDSTAT_SET_FLAGS
          | Rights.FD_FILESTAT_GET
          | Rights.SOCK_SHUTDOWN;
    }

    @Override
    void close() throws IOException {
      channel.close();
    }

    @Override
    boolean registered() {
      return channel.isRegistered();
    }
  }

  /** A connection {@code sock_accept} returned. */
  static final class SocketFd extends Descriptor {
    final SocketChannel channel;

    /** Bytes read from the host socket but not yet given to the guest (a peek, a poll). */
    ByteBuffer pending = ByteBuffer.allocate(0);

    /** The peer closed its side (or ours was shut down for reading): reads end after pending. */
    boolean eof;

    SocketFd(SocketChannel channel) {
      this.channel = channel;
    }

    @Override
    int filetype() {
      return FILETYPE_SOCKET_STREAM;
    }

    @Override
    long rightsBase() {
      return Rights.FD_READ
          | Rights.FD_WRITE
          | Rights.POLL_FD_READWRITE
          | Rights.FD_FDSTAT_SET_FLAGS
          | Rights.FD_FILESTAT_GET
          | Rights.SOCK_SHUTDOWN;
    }

    @Override
    void close() throws IOException {
      channel.close();
    }

    @Override
    boolean registered() {
      return channel.isRegistered();
    }
  }
}
