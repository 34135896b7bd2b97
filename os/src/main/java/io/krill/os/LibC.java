package io.krill.os;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/** The few libc calls the JDK does not offer. */
interface LibC extends Library {
  LibC INSTANCE = Native.load("c", LibC.class);

  int mount(String source, String target, String fstype, long flags, String data);

  int umount2(String target, int flags);

  int mkfifo(String path, int mode);

  int open(String path, int flags);

  long write(int fd, byte[] buf, long count);

  int ioctl(int fd, long request, IntByReference arg);

  int close(int fd);

  int setns(int fd, int nstype);

  Pointer mmap(Pointer addr, long length, int prot, int flags, int fd, long offset);

  int munmap(Pointer addr, long length);

  int madvise(Pointer addr, long length, int advice);
}
