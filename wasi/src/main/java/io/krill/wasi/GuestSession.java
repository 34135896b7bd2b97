package io.krill.wasi;

import java.nio.channels.ServerSocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.List;

/**
 * What every engine's guest keeps of krill's WASI besides its own engine objects: the {@link
 * Interruption} a kill sets, the stdin FIFO ({@link GuestStdin}) and the {@code proc_exit} the
 * guest called, caught as its host call unwinds. An engine defines each import as a host function
 * that calls {@link #call}, and turns what unwound the guest into a result with {@link #exit()}.
 */
public final class GuestSession {
  private final Interruption interruption = new Interruption();
  private final GuestStdin stdin;
  private final Stdin given;
  private volatile ProcExit exit;
  private Wasi wasi;

  /**
   * @param stdin the guest's stdin, or null for none
   */
  public GuestSession(Path stdin) {
    this.stdin = stdin == null ? null : new GuestStdin(stdin);
    this.given = null;
  }

  /** A session whose stdin is this one, already open (a request's body). */
  public GuestSession(Stdin stdin) {
    this.stdin = null;
    this.given = stdin;
  }

  public Interruption interruption() {
    return interruption;
  }

  /**
   * Opens stdin (whether or not the guest reads it: containerd's writer waits for a reader, see
   * {@link GuestStdin}) and builds the guest's WASI; {@link #end()} closes both.
   */
  public Wasi start(
      String name,
      List<String> args,
      List<String> env,
      List<Mount> mounts,
      WritableByteChannel stdout,
      WritableByteChannel stderr) {
    return start(name, args, env, mounts, List.of(), stdout, stderr);
  }

  /** {@link #start} with listening sockets, preopened before the directories. */
  public Wasi start(
      String name,
      List<String> args,
      List<String> env,
      List<Mount> mounts,
      List<ServerSocketChannel> listeners,
      WritableByteChannel stdout,
      WritableByteChannel stderr) {
    if (stdin != null) {
      stdin.open(name);
    }
    wasi =
        new Wasi(
            new Wasi.Options()
                .args(args)
                .env(env)
                .stdin(stdin != null ? stdin : given)
                .stdout(stdout)
                .stderr(stderr)
                .mounts(mounts)
                .listeners(listeners)
                .interruption(interruption));
    return wasi;
  }

  /**
   * Runs one host function; a {@code proc_exit} is remembered for {@link #exit()}, then rethrown.
   */
  public int call(HostFunction f, GuestMemory memory, long[] args) {
    try {
      return f.body().call(wasi, memory, args);
    } catch (ProcExit e) {
      exit = e;
      throw e;
    }
  }

  /** The {@code proc_exit} that ended the guest, or null if it did not call one. */
  public ProcExit exit() {
    return exit;
  }

  /** Kill: a wait in a WASI call ends, stdin is closed at once. */
  public void interrupt() {
    interruption.interrupt();
    releaseStdin();
  }

  /** A graceful stop: no new connections ({@link Interruption#stopAccepting}). */
  public void stopAccepting() {
    interruption.stopAccepting();
  }

  /** CloseIO: the guest reads what was written before it, then end-of-file. */
  public void closeStdin() {
    if (stdin != null) {
      stdin.endInput();
    }
  }

  /** The guest's end: stdin closed (its writer sees a broken pipe), the WASI's files too. */
  public void end() {
    releaseStdin();
    if (wasi != null) {
      wasi.close();
    }
  }

  private void releaseStdin() {
    if (stdin != null) {
      stdin.close();
    }
  }
}
