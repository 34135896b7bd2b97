package io.krill.wasi;

import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;

/** The attributes of a {@link Vfs.Located#virtual() virtual directory}: empty, read-only. */
final class VirtualDirectory implements BasicFileAttributes {
  static final VirtualDirectory ATTRIBUTES = new VirtualDirectory();
  private static final FileTime EPOCH = FileTime.fromMillis(0);

  private VirtualDirectory() {}

  @Override
  public FileTime lastModifiedTime() {
    return EPOCH;
  }

  @Override
  public FileTime lastAccessTime() {
    return EPOCH;
  }

  @Override
  public FileTime creationTime() {
    return EPOCH;
  }

  @Override
  public boolean isRegularFile() {
    return false;
  }

  @Override
  public boolean isDirectory() {
    return true;
  }

  @Override
  public boolean isSymbolicLink() {
    return false;
  }

  @Override
  public boolean isOther() {
    return false;
  }

  @Override
  public long size() {
    return 0;
  }

  @Override
  public Object fileKey() {
    return null;
  }
}
