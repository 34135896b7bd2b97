package io.krill.wasi;

import static io.krill.wasi.HostFunction.ValType.I32;
import static io.krill.wasi.HostFunction.ValType.I64;

import io.krill.wasi.HostFunction.ValType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every function of {@code wasi_snapshot_preview1} and of {@code wasi_unstable} (snapshot 0) as
 * {@link HostFunction}s, each called with the guest's {@link Wasi}: what an engine binding looks up
 * to define imports. The table is built once for the daemon, not per guest: an instance per request
 * would otherwise build some ninety functions and their map for each request.
 */
public final class WasiFunctions {
  public static final String PREVIEW1 = "wasi_snapshot_preview1";
  public static final String UNSTABLE = "wasi_unstable";

  /** Every function by {@code module.name}; built once, each guest's calls name their own WASI. */
  private static final Map<String, HostFunction> BY_IMPORT = index();

  private WasiFunctions() {}

  private static int i(long v) {
    return (int) v;
  }

  private static void add(
      List<HostFunction> out, String module, String name, HostFunction.Body body, ValType... ps) {
    out.add(new HostFunction(module, name, List.of(ps), true, body));
  }

  /**
   * Every import krill serves, by {@code module.name}: what an engine defines for a guest, binding
   * each to the guest's {@link Wasi} (through {@link GuestSession#call}).
   */
  public static Map<String, HostFunction> byImport() {
    return BY_IMPORT;
  }

  private static Map<String, HostFunction> index() {
    Map<String, HostFunction> out = new HashMap<>();
    for (HostFunction f : all()) {
      out.put(f.module() + "." + f.name(), f);
    }
    return Collections.unmodifiableMap(out);
  }

  private static WasiUnstable unstable(Wasi w) {
    return new WasiUnstable(w);
  }

  /** Whether krill serves the function import {@code module.name}. */
  public static boolean provides(String module, String name) {
    return BY_IMPORT.containsKey(module + "." + name);
  }

  /** Why a module importing {@code module.name} cannot run, and what to do about it. */
  public static String notProvided(
      String containerId, String modulePath, String module, String name) {
    return "container "
        + containerId
        + ": module "
        + modulePath
        + " imports "
        + module
        + "."
        + name
        + ", which krill does not provide (only WASI, \""
        + PREVIEW1
        + "\" and \""
        + UNSTABLE
        + "\", is available: build the module for wasm32-wasip1)";
  }

  /** Both modules' functions (snapshot 0's differing ones through {@link WasiUnstable}). */
  public static List<HostFunction> all() {
    List<HostFunction> out = new ArrayList<>(preview1());
    out.addAll(unstable());
    return out;
  }

  public static List<HostFunction> preview1() {
    List<HostFunction> out = new ArrayList<>();
    common(out, PREVIEW1);
    add(
        out,
        PREVIEW1,
        "fd_seek",
        (w, m, a) -> w.fdSeek(m, i(a[0]), a[1], i(a[2]), i(a[3])),
        I32,
        I64,
        I32,
        I32);
    add(
        out,
        PREVIEW1,
        "fd_filestat_get",
        (w, m, a) -> w.fdFilestatGet(m, i(a[0]), i(a[1])),
        I32,
        I32);
    add(
        out,
        PREVIEW1,
        "path_filestat_get",
        (w, m, a) -> w.pathFilestatGet(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4])),
        I32,
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        PREVIEW1,
        "poll_oneoff",
        (w, m, a) -> w.pollOneoff(m, i(a[0]), i(a[1]), i(a[2]), i(a[3])),
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        PREVIEW1,
        "sock_accept",
        (w, m, a) -> w.sockAccept(m, i(a[0]), i(a[1]), i(a[2])),
        I32,
        I32,
        I32);
    return out;
  }

  public static List<HostFunction> unstable() {
    List<HostFunction> out = new ArrayList<>();
    common(out, UNSTABLE);
    add(
        out,
        UNSTABLE,
        "fd_seek",
        (w, m, a) -> unstable(w).fdSeek(m, i(a[0]), a[1], i(a[2]), i(a[3])),
        I32,
        I64,
        I32,
        I32);
    add(
        out,
        UNSTABLE,
        "fd_filestat_get",
        (w, m, a) -> unstable(w).fdFilestatGet(m, i(a[0]), i(a[1])),
        I32,
        I32);
    add(
        out,
        UNSTABLE,
        "path_filestat_get",
        (w, m, a) -> unstable(w).pathFilestatGet(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4])),
        I32,
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        UNSTABLE,
        "poll_oneoff",
        (w, m, a) -> unstable(w).pollOneoff(m, i(a[0]), i(a[1]), i(a[2]), i(a[3])),
        I32,
        I32,
        I32,
        I32);
    return out;
  }

  /** The functions whose signature and layout both snapshots share. */
  private static void common(List<HostFunction> out, String mod) {
    add(out, mod, "args_get", (w, m, a) -> w.argsGet(m, i(a[0]), i(a[1])), I32, I32);
    add(out, mod, "args_sizes_get", (w, m, a) -> w.argsSizesGet(m, i(a[0]), i(a[1])), I32, I32);
    add(out, mod, "environ_get", (w, m, a) -> w.environGet(m, i(a[0]), i(a[1])), I32, I32);
    add(
        out,
        mod,
        "environ_sizes_get",
        (w, m, a) -> w.environSizesGet(m, i(a[0]), i(a[1])),
        I32,
        I32);
    add(out, mod, "clock_res_get", (w, m, a) -> w.clockResGet(m, i(a[0]), i(a[1])), I32, I32);
    add(
        out,
        mod,
        "clock_time_get",
        (w, m, a) -> w.clockTimeGet(m, i(a[0]), a[1], i(a[2])),
        I32,
        I64,
        I32);
    add(
        out,
        mod,
        "fd_advise",
        (w, m, a) -> w.fdAdvise(i(a[0]), a[1], a[2], i(a[3])),
        I32,
        I64,
        I64,
        I32);
    add(out, mod, "fd_allocate", (w, m, a) -> w.fdAllocate(i(a[0]), a[1], a[2]), I32, I64, I64);
    add(out, mod, "fd_close", (w, m, a) -> w.fdClose(i(a[0])), I32);
    add(out, mod, "fd_datasync", (w, m, a) -> w.fdDatasync(i(a[0])), I32);
    add(out, mod, "fd_fdstat_get", (w, m, a) -> w.fdFdstatGet(m, i(a[0]), i(a[1])), I32, I32);
    add(
        out,
        mod,
        "fd_fdstat_set_flags",
        (w, m, a) -> w.fdFdstatSetFlags(i(a[0]), i(a[1])),
        I32,
        I32);
    add(
        out,
        mod,
        "fd_fdstat_set_rights",
        (w, m, a) -> w.fdFdstatSetRights(i(a[0]), a[1], a[2]),
        I32,
        I64,
        I64);
    add(
        out,
        mod,
        "fd_filestat_set_size",
        (w, m, a) -> w.fdFilestatSetSize(i(a[0]), a[1]),
        I32,
        I64);
    add(
        out,
        mod,
        "fd_filestat_set_times",
        (w, m, a) -> w.fdFilestatSetTimes(i(a[0]), a[1], a[2], i(a[3])),
        I32,
        I64,
        I64,
        I32);
    add(
        out,
        mod,
        "fd_pread",
        (w, m, a) -> w.fdPread(m, i(a[0]), i(a[1]), i(a[2]), a[3], i(a[4])),
        I32,
        I32,
        I32,
        I64,
        I32);
    add(out, mod, "fd_prestat_get", (w, m, a) -> w.fdPrestatGet(m, i(a[0]), i(a[1])), I32, I32);
    add(
        out,
        mod,
        "fd_prestat_dir_name",
        (w, m, a) -> w.fdPrestatDirName(m, i(a[0]), i(a[1]), i(a[2])),
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "fd_pwrite",
        (w, m, a) -> w.fdPwrite(m, i(a[0]), i(a[1]), i(a[2]), a[3], i(a[4])),
        I32,
        I32,
        I32,
        I64,
        I32);
    add(
        out,
        mod,
        "fd_read",
        (w, m, a) -> w.fdRead(m, i(a[0]), i(a[1]), i(a[2]), i(a[3])),
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "fd_readdir",
        (w, m, a) -> w.fdReaddir(m, i(a[0]), i(a[1]), i(a[2]), a[3], i(a[4])),
        I32,
        I32,
        I32,
        I64,
        I32);
    add(out, mod, "fd_renumber", (w, m, a) -> w.fdRenumber(i(a[0]), i(a[1])), I32, I32);
    add(out, mod, "fd_sync", (w, m, a) -> w.fdSync(i(a[0])), I32);
    add(out, mod, "fd_tell", (w, m, a) -> w.fdTell(m, i(a[0]), i(a[1])), I32, I32);
    add(
        out,
        mod,
        "fd_write",
        (w, m, a) -> w.fdWrite(m, i(a[0]), i(a[1]), i(a[2]), i(a[3])),
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "path_create_directory",
        (w, m, a) -> w.pathCreateDirectory(m, i(a[0]), i(a[1]), i(a[2])),
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "path_filestat_set_times",
        (w, m, a) ->
            w.pathFilestatSetTimes(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), a[4], a[5], i(a[6])),
        I32,
        I32,
        I32,
        I32,
        I64,
        I64,
        I32);
    add(
        out,
        mod,
        "path_link",
        (w, m, a) -> w.pathLink(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4]), i(a[5]), i(a[6])),
        I32,
        I32,
        I32,
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "path_open",
        (w, m, a) ->
            w.pathOpen(
                m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4]), a[5], a[6], i(a[7]), i(a[8])),
        I32,
        I32,
        I32,
        I32,
        I32,
        I64,
        I64,
        I32,
        I32);
    add(
        out,
        mod,
        "path_readlink",
        (w, m, a) -> w.pathReadlink(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4]), i(a[5])),
        I32,
        I32,
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "path_remove_directory",
        (w, m, a) -> w.pathRemoveDirectory(m, i(a[0]), i(a[1]), i(a[2])),
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "path_rename",
        (w, m, a) -> w.pathRename(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4]), i(a[5])),
        I32,
        I32,
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "path_symlink",
        (w, m, a) -> w.pathSymlink(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4])),
        I32,
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "path_unlink_file",
        (w, m, a) -> w.pathUnlinkFile(m, i(a[0]), i(a[1]), i(a[2])),
        I32,
        I32,
        I32);
    out.add(
        new HostFunction(
            mod,
            "proc_exit",
            List.of(I32),
            false,
            (w, m, a) -> {
              w.procExit(i(a[0]));
              return 0;
            }));
    add(out, mod, "proc_raise", (w, m, a) -> w.procRaise(i(a[0])), I32);
    add(out, mod, "random_get", (w, m, a) -> w.randomGet(m, i(a[0]), i(a[1])), I32, I32);
    add(out, mod, "sched_yield", (w, m, a) -> w.schedYield());
    add(
        out,
        mod,
        "sock_recv",
        (w, m, a) -> w.sockRecv(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4]), i(a[5])),
        I32,
        I32,
        I32,
        I32,
        I32,
        I32);
    add(
        out,
        mod,
        "sock_send",
        (w, m, a) -> w.sockSend(m, i(a[0]), i(a[1]), i(a[2]), i(a[3]), i(a[4])),
        I32,
        I32,
        I32,
        I32,
        I32);
    add(out, mod, "sock_shutdown", (w, m, a) -> w.sockShutdown(i(a[0]), i(a[1])), I32, I32);
  }
}
