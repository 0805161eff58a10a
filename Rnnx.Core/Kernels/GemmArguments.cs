namespace Rnnx.Kernels;

/// <summary>
/// Argument checks shared by the public GEMM entry points (<see cref="MatMulKernels"/>, <see cref="PackedGemm"/>).
/// They run on every call of every tiny product of a recurrence: nothing is allocated unless they throw.
/// </summary>
internal static class GemmArguments
{
    /// <summary>
    /// Checks that a rows x cols row-major matrix with row stride <paramref name="ld"/> fits a span of
    /// <paramref name="length"/> elements; <paramref name="caller"/>, <paramref name="span"/> and
    /// <paramref name="stride"/> name the entry point and its arguments in the message.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or the stride is below the row length.</exception>
    /// <exception cref="ArgumentException">The span is too short.</exception>
    internal static void CheckMatrix(string caller, int rows, int cols, int length, int ld, string span, string stride)
    {
        // the messages are built only when throwing
        if (rows < 0) throw new ArgumentOutOfRangeException(span + " rows", rows, $"{caller}: {span} has a negative row count.");
        if (cols < 0) throw new ArgumentOutOfRangeException(span + " columns", cols, $"{caller}: {span} has a negative column count.");
        if (rows == 0 || cols == 0)
            return;
        if (ld < cols)
            throw new ArgumentOutOfRangeException(stride, ld, $"{caller}: the row stride {stride} = {ld} is below the row length {cols} of {span} ({rows} x {cols}).");
        if (length < (long)(rows - 1) * ld + cols)
            throw new ArgumentException($"{caller}: {span} holds {length} elements, a {rows} x {cols} matrix with row stride {ld} needs {(long)(rows - 1) * ld + cols}.", span);
    }
}
