package io.krill.wasi;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code wasi_unstable} (snapshot 0) where it differs from preview1: the {@code whence} values (cur
 * 0, end 1, set 2), a {@code filestat} whose {@code nlink} is a u32 (56 bytes), and clock
 * subscriptions that carry an identifier (56-byte subscriptions). Everything else is preview1's.
 */
final class WasiUnstable {
  static final int SUBSCRIPTION_SIZE = 56;

  private final Wasi wasi;

  WasiUnstable(Wasi wasi) {
    this.wasi = wasi;
  }

  int fdSeek(GuestMemory m, int fd, long offset, int whence, int newOffsetPtr) {
    int w =
        switch (whence) {
          case 0 -> Wasi.WHENCE_CUR;
          case 1 -> Wasi.WHENCE_END;
          case 2 -> Wasi.WHENCE_SET;
          default -> -1;
        };
    return w < 0 ? Errno.INVAL : wasi.fdSeek(m, fd, offset, w, newOffsetPtr);
  }

  private interface StatCall {
    Wasi.Stat get() throws WasiError, java.io.IOException;
  }

  private static int filestat(GuestMemory m, int ptr, StatCall c) {
    try {
      Wasi.Stat s = c.get();
      m.writeLong(ptr, s.dev());
      m.writeLong(ptr + 8, s.ino());
      m.writeLong(ptr + 16, s.filetype() & 0xff);
      m.writeInt(ptr + 20, (int) Math.min(s.nlink(), 0xffffffffL));
      m.writeLong(ptr + 24, s.size());
      m.writeLong(ptr + 32, s.atim());
      m.writeLong(ptr + 40, s.mtim());
      m.writeLong(ptr + 48, s.ctim());
      return Errno.SUCCESS;
    } catch (WasiError e) {
      return e.errno;
    } catch (IndexOutOfBoundsException e) {
      return Errno.FAULT;
    } catch (java.io.IOException e) {
      return Errno.of(e);
    }
  }

  int fdFilestatGet(GuestMemory m, int fd, int ptr) {
    return filestat(m, ptr, () -> wasi.fdStat(fd));
  }

  int pathFilestatGet(GuestMemory m, int fd, int flags, int path, int len, int ptr) {
    return filestat(
        m,
        ptr,
        () -> {
          byte[] b = new byte[len];
          m.read(path, b, 0, len);
          return wasi.pathStat(fd, flags, new String(b, java.nio.charset.StandardCharsets.UTF_8));
        });
  }

  int pollOneoff(GuestMemory m, int in, int out, int n, int neventsPtr) {
    try {
      if (n <= 0) {
        return Errno.INVAL;
      }
      List<Wasi.Subscription> subs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int s = in + i * SUBSCRIPTION_SIZE;
        int tag = m.readByte(s + 8);
        if (tag == Wasi.EVENTTYPE_CLOCK) {
          subs.add(
              new Wasi.Subscription(
                  m.readLong(s),
                  tag,
                  m.readInt(s + 24),
                  m.readLong(s + 32),
                  (m.readShort(s + 48) & 1) != 0,
                  -1));
        } else {
          subs.add(new Wasi.Subscription(m.readLong(s), tag, 0, 0, false, m.readInt(s + 16)));
        }
      }
      m.writeInt(neventsPtr, wasi.poll(m, subs, out));
      return Errno.SUCCESS;
    } catch (WasiError e) {
      return e.errno;
    } catch (IndexOutOfBoundsException e) {
      return Errno.FAULT;
    }
  }
}
