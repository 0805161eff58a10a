using System.Runtime.InteropServices;

namespace Rnnx.Cli;

/// <summary>What a directory entry is.</summary>
internal enum FileKind
{
    /// <summary>Nothing there.</summary>
    Missing,

    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A folder.</summary>
    Directory,

    /// <summary>A symbolic link (only reported when links are not followed).</summary>
    SymbolicLink,

    /// <summary>A named pipe: opening it for reading blocks until a writer comes.</summary>
    Fifo,

    /// <summary>A character device such as /dev/zero or /dev/null.</summary>
    CharacterDevice,

    /// <summary>A block device (a disk).</summary>
    BlockDevice,

    /// <summary>A Unix socket.</summary>
    Socket,
}

/// <summary>
/// The kind, identity (device and inode) and size of a path, read without opening it: a FIFO is never opened, so
/// nothing hangs. Linux uses <c>statx</c> (one layout on every architecture), macOS <c>stat</c>; elsewhere the kind
/// comes from .NET's attributes and the identity is unknown (0, 0): paths are then compared by full name only.
/// </summary>
/// <param name="Kind">What the entry is.</param>
/// <param name="Device">The device holding it (0 when unknown).</param>
/// <param name="Inode">Its inode (0 when unknown).</param>
/// <param name="Size">Its size in bytes.</param>
internal readonly record struct FileStat(FileKind Kind, ulong Device, ulong Inode, long Size)
{
    /// <summary>Whether <see cref="Device"/> and <see cref="Inode"/> identify the file.</summary>
    public bool HasIdentity => Device != 0 || Inode != 0;

    /// <summary>A name for messages: "a folder", "a named pipe (FIFO)", ...</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a folder",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a named pipe (FIFO)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        _ => "missing",
    };

    /// <summary>Reads the entry at <paramref name="path"/>; with <paramref name="followLinks"/> false a symbolic link is reported as such.</summary>
    public static FileStat Of(string path, bool followLinks)
    {
        if (OperatingSystem.IsLinux()) return Linux(path, followLinks);
        if (OperatingSystem.IsMacOS()) return MacOS(path, followLinks);
        return Portable(path, followLinks);
    }

    private static FileKind KindOfMode(uint mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.SymbolicLink,
        0x1000 => FileKind.Fifo,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        0xC000 => FileKind.Socket,
        _ => FileKind.Regular,
    };

    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxBasicStats = 0x7FF;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern unsafe int StatX(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);

    private static unsafe FileStat Linux(string path, bool followLinks)
    {
        // struct statx: stx_mode u16 @28, stx_ino u64 @32, stx_size u64 @40, stx_dev_major u32 @136, stx_dev_minor u32 @140.
        byte* b = stackalloc byte[256];
        if (StatX(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxBasicStats, b) != 0) return default;
        uint mode = *(ushort*)(b + 28);
        ulong dev = ((ulong)*(uint*)(b + 136) << 32) | *(uint*)(b + 140);
        return new FileStat(KindOfMode(mode), dev, *(ulong*)(b + 32), (long)*(ulong*)(b + 40));
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern unsafe int MacStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* buffer);

    [DllImport("libc", EntryPoint = "lstat", SetLastError = true)]
    private static extern unsafe int MacLStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* buffer);

    private static unsafe FileStat MacOS(string path, bool followLinks)
    {
        // Darwin 64-bit-inode struct stat (arm64): st_dev i32 @0, st_mode u16 @4, st_ino u64 @8, st_size i64 @96.
        if (RuntimeInformation.ProcessArchitecture != Architecture.Arm64) return Portable(path, followLinks);
        byte* b = stackalloc byte[256];
        if ((followLinks ? MacStat(path, b) : MacLStat(path, b)) != 0) return default;
        return new FileStat(KindOfMode(*(ushort*)(b + 4)), *(uint*)b, *(ulong*)(b + 8), *(long*)(b + 96));
    }

    private static FileStat Portable(string path, bool followLinks)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (!info.Exists) return default;
        if (!followLinks && info.LinkTarget is not null) return new FileStat(FileKind.SymbolicLink, 0, 0, 0);
        if ((info.Attributes & FileAttributes.Device) != 0) return new FileStat(FileKind.CharacterDevice, 0, 0, 0);
        return info is DirectoryInfo ? new FileStat(FileKind.Directory, 0, 0, 0) : new FileStat(FileKind.Regular, 0, 0, ((FileInfo)info).Length);
    }
}
