namespace Rnnx.Saving;

/// <summary>
/// A model, weights or checkpoint file is malformed, truncated, corrupted, or does not fit the model it is loaded into.
/// The message names the file, the problem and, where it applies, the byte offset in the file. A load that throws this
/// changes nothing: files are validated completely before any weight is written.
/// </summary>
public sealed class ModelFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="path">The file, when known.</param>
    /// <param name="offset">The byte offset in the file where the problem is, when it applies.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public ModelFormatException(string message, string? path = null, long? offset = null, Exception? inner = null)
        : base(Compose(message, path, offset), inner)
    {
        Problem = message;
        FilePath = path;
        Offset = offset;
    }

    /// <summary>The problem, without the file name and offset.</summary>
    public string Problem { get; }

    /// <summary>The file, when known.</summary>
    public string? FilePath { get; }

    /// <summary>The byte offset in the file where the problem was found, when it applies.</summary>
    public long? Offset { get; }

    private static string Compose(string message, string? path, long? offset)
    {
        string where = (path, offset) switch
        {
            (not null, not null) => $"{path} (at byte {offset}): ",
            (not null, null) => $"{path}: ",
            (null, not null) => $"at byte {offset}: ",
            _ => "",
        };
        return where + message;
    }

    /// <summary>A copy naming <paramref name="path"/> (for errors raised before the file name was known).</summary>
    internal ModelFormatException WithPath(string? path) =>
        FilePath is not null || path is null ? this : new ModelFormatException(Problem, path, Offset, InnerException);
}
