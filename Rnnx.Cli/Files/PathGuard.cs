namespace Rnnx.Cli;

/// <summary>
/// Checks every input and output path of a command before any work, so that nothing is ever lost: an output is
/// refused (one line naming the option, exit 2, no file touched) when it is the same file or the same directory
/// entry as any input or other output (compared by resolved full path, by the parent folder's identity plus the
/// name, and on Unix by device and inode, which catches symbolic and hard links), when it is not a regular file
/// (a folder, FIFO, device, socket or symbolic link is never replaced), or when its folder cannot be written.
/// Inputs must be regular files (their kind is read without opening them, so a FIFO never blocks).
/// </summary>
internal sealed class PathGuard
{
    private readonly record struct Claim(string Option, string Path, string FullPath, FileStat File, FileStat Parent, string Name, bool IsOutput);

    private readonly List<Claim> _claims = [];
    private readonly HashSet<string> _writableFolders = [];

    /// <summary>Checks an input file and returns its size.</summary>
    /// <param name="option">The option naming it, e.g. <c>--csv</c>.</param>
    /// <param name="path">The path given.</param>
    /// <param name="maxBytes">The largest size accepted.</param>
    /// <exception cref="CliException">Missing, not a regular file, or too large.</exception>
    public long Input(string option, string path, long maxBytes = long.MaxValue)
    {
        string full = Full(option, path);
        var stat = FileStat.Of(full, followLinks: true);
        if (stat.Kind == FileKind.Missing) throw new CliException($"{option} '{path}': no such file");
        if (stat.Kind != FileKind.Regular)
            throw new CliException($"{option} '{path}' is {FileStat.Describe(stat.Kind)}, not a regular file");
        if (stat.Size > maxBytes)
            throw new CliException($"{option} '{path}' is {stat.Size} bytes; the limit is {maxBytes} bytes");
        Add(new Claim(option, path, full, stat, ParentOf(full), System.IO.Path.GetFileName(full), false));
        return stat.Size;
    }

    /// <summary>Checks an output file (it may exist: it is then replaced, atomically where the writer allows).</summary>
    /// <param name="option">The option naming it.</param>
    /// <param name="path">The path given.</param>
    /// <param name="folderMayBeCreated">The command creates a missing folder: then its nearest existing ancestor must be writable.</param>
    /// <exception cref="CliException">The path clashes with another path, is not a regular file, or its folder cannot be written.</exception>
    public void Output(string option, string path, bool folderMayBeCreated = false)
    {
        string full = Full(option, path);
        string? folder = System.IO.Path.GetDirectoryName(full);
        if (folderMayBeCreated && folder is not null && FileStat.Of(folder, followLinks: true).Kind == FileKind.Missing)
        {
            OutputFolder(option, folder, [System.IO.Path.GetFileName(full)]);
            return;
        }
        var stat = FileStat.Of(full, followLinks: false);
        if (stat.Kind is not (FileKind.Missing or FileKind.Regular))
            throw new CliException($"{option} '{path}' is {FileStat.Describe(stat.Kind)}; outputs only replace regular files");
        string dir = System.IO.Path.GetDirectoryName(full) ?? full;
        var parent = FileStat.Of(dir, followLinks: true);
        if (parent.Kind == FileKind.Missing) throw new CliException($"{option} '{path}': the folder '{dir}' does not exist");
        if (parent.Kind != FileKind.Directory) throw new CliException($"{option} '{path}': '{dir}' is {FileStat.Describe(parent.Kind)}, not a folder");
        CheckWritable(option, path, dir);
        Add(new Claim(option, path, full, stat, parent, System.IO.Path.GetFileName(full), true));
    }

    /// <summary>
    /// Checks an output folder that may not exist yet (created later): the nearest existing ancestor must be a
    /// writable folder, and no input may lie in it under a name the command writes (<paramref name="fileNames"/>).
    /// </summary>
    public void OutputFolder(string option, string path, IEnumerable<string> fileNames)
    {
        string full = Full(option, path);
        var stat = FileStat.Of(full, followLinks: true);
        if (stat.Kind is not (FileKind.Missing or FileKind.Directory))
            throw new CliException($"{option} '{path}' is {FileStat.Describe(stat.Kind)}, not a folder");
        string existing = full;
        while (FileStat.Of(existing, followLinks: true).Kind == FileKind.Missing)
            existing = System.IO.Path.GetDirectoryName(existing) ?? throw new CliException($"{option} '{path}': no existing folder above it");
        if (FileStat.Of(existing, followLinks: true).Kind != FileKind.Directory)
            throw new CliException($"{option} '{path}': '{existing}' is {FileStat.Describe(FileStat.Of(existing, true).Kind)}, not a folder");
        CheckWritable(option, path, existing);
        foreach (var name in fileNames)
        {
            string file = System.IO.Path.Combine(full, name);
            var fs = FileStat.Of(file, followLinks: false);
            if (fs.Kind is not (FileKind.Missing or FileKind.Regular))
                throw new CliException($"{option} '{path}': '{name}' there is {FileStat.Describe(fs.Kind)}; outputs only replace regular files");
            Add(new Claim(option, file, file, fs, stat.Kind == FileKind.Directory ? stat : default, name, true));
        }
    }

    /// <summary>Checks one path that a pattern option (e.g. <c>--checkpoint</c>) will write; missing folders may be created.</summary>
    public void PatternOutput(string option, string pattern, string path)
    {
        try
        {
            Output(option, path, folderMayBeCreated: true);
        }
        catch (CliException e) when (path != pattern)
        {
            throw new CliException($"{e.Message} (from the pattern '{pattern}')", e.ExitCode);
        }
    }

    /// <summary>The option whose path <paramref name="path"/> is (an input or an output of another option than <paramref name="except"/>), or null.</summary>
    public string? ClashOf(string path, string except)
    {
        string full = System.IO.Path.GetFullPath(path);
        var probe = new Claim("", path, full, FileStat.Of(full, false), ParentOf(full), System.IO.Path.GetFileName(full), true);
        foreach (var c in _claims)
            if (c.Option != except && Same(c, probe)) return $"{c.Option} '{c.Path}'";
        return null;
    }

    private void Add(Claim claim)
    {
        foreach (var c in _claims)
            if (Same(c, claim))
            {
                if (!claim.IsOutput && !c.IsOutput) continue;   // reading one file twice is fine
                string what = c.IsOutput ? "output" : "input";
                throw new CliException($"{claim.Option} '{claim.Path}' is the same file as the {what} {c.Option} '{c.Path}'; nothing was written");
            }
        _claims.Add(claim);
    }

    private static bool Same(Claim a, Claim b)
    {
        if (string.Equals(a.FullPath, b.FullPath, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            return true;
        if (a.File.HasIdentity && b.File.HasIdentity && a.File.Device == b.File.Device && a.File.Inode == b.File.Inode) return true;
        // The same entry reached through a linked folder: same parent folder, same name.
        return a.Parent.HasIdentity && b.Parent.HasIdentity && a.Parent.Device == b.Parent.Device && a.Parent.Inode == b.Parent.Inode
            && string.Equals(a.Name, b.Name, StringComparison.Ordinal);
    }

    private static FileStat ParentOf(string full) =>
        System.IO.Path.GetDirectoryName(full) is { } dir ? FileStat.Of(dir, followLinks: true) : default;

    private static string Full(string option, string path)
    {
        try
        {
            return System.IO.Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new CliException($"{option} '{CliOptions.Short(path)}' is not a valid path: {e.Message}");
        }
    }

    private void CheckWritable(string option, string path, string dir)
    {
        if (_writableFolders.Contains(dir)) return;
        string probe = System.IO.Path.Combine(dir, $".rnnx-write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{option} '{path}': cannot write in the folder '{dir}' ({e.Message})");
        }
        _writableFolders.Add(dir);
    }
}
