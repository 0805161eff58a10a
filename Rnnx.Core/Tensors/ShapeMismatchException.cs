namespace Rnnx;

/// <summary>
/// Thrown by a public operation or layer when tensor shapes, ranks or axes do not fit together.
/// The message names the operation and the shapes involved, e.g. <c>MatMul: (32, 20) x (21, 80)</c>.
/// </summary>
public sealed class ShapeMismatchException : ArgumentException
{
    /// <summary>Creates the exception with a message that names the operation and the shapes.</summary>
    public ShapeMismatchException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the name of the offending parameter.</summary>
    public ShapeMismatchException(string message, string? paramName) : base(message, paramName) { }
}
