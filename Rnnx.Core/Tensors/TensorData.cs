using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnnx;

/// <summary>
/// The storage behind a <see cref="Tensor"/> handle: dtype, shape, a slice of a float or double array,
/// and the bookkeeping the tape needs. Tape-owned instances are pooled and recycled when the tape is
/// reset; <see cref="Generation"/> changes on every recycle so stale handles are detected.
/// </summary>
internal sealed class TensorData
{
    public DType DType;
    public Shape Shape;
    public int Length;
    public float[]? F;
    public double[]? D;
    public int Offset;
    /// <summary>Where <see cref="F"/>/<see cref="D"/> was rented in the owning tape's pool (see <see cref="Arena{T}.Rent"/>); -1 for a view.</summary>
    public long Slot = -1;
    public int Generation;
    public bool RequiresGrad;
    /// <summary>Made by <see cref="Tensor.StepMask"/> or <see cref="Tensor.SequenceMask"/>: every value is 0 or 1 (<see cref="Tensor.IsStepMask"/>).</summary>
    public bool IsStepMask;
    /// <summary>The tape that created this tensor and recycles it, or null for a leaf (parameter, user data).</summary>
    public Tape? Owner;

    // Gradient slot, used when Owner is the tape running backward (leaves keep theirs in the tape's map).
    public float[]? GradF;
    public double[]? GradD;
    public int GradOffset;
    public int GradStamp;
    /// <summary>Where the gradient slot was rented in the owning tape's pool.</summary>
    public long GradSlot;
    /// <summary>The gradient was released after its producer's backward (<see cref="Tape.ReleaseIntermediateGradients"/>).</summary>
    public bool GradReleased;
    /// <summary>
    /// Someone besides the ops recorded on the tape may read this value after its last reader's backward: it has a view
    /// (which shares its buffer), it was differentiated, or the caller kept it (<see cref="Tape.KeepValue"/>). Such a value is
    /// never written over (<see cref="Tape.ReleaseIntermediateValues"/>).
    /// </summary>
    public bool ValueEscapes;
    /// <summary>How many entries the owning tape had recorded when this tensor was made (an op's output is made after the last entry before its own).</summary>
    public int BornAt;
    /// <summary>Backward wrote a gradient over the value (<see cref="Tape.ReleaseIntermediateValues"/>); its handles are invalid.</summary>
    public bool ValueOverwritten;

    public static TensorData Allocate(Shape shape, DType dtype, bool requiresGrad)
    {
        var t = new TensorData { DType = dtype, Shape = shape, Length = shape.Size, RequiresGrad = requiresGrad };
        if (dtype == DType.Float32) t.F = new float[t.Length];
        else t.D = new double[t.Length];
        return t;
    }

    /// <summary>A float32 leaf over the caller's array, without a copy (for read-only uses such as inference inputs).</summary>
    internal static TensorData Wrap(float[] values, Shape shape)
    {
        Debug.Assert(values.Length == shape.Size);
        return new TensorData { DType = DType.Float32, Shape = shape, Length = values.Length, F = values };
    }

    internal static TensorData Wrap(double[] values, Shape shape)
    {
        Debug.Assert(values.Length == shape.Size);
        return new TensorData { DType = DType.Float64, Shape = shape, Length = values.Length, D = values };
    }

    /// <summary>Like <see cref="Allocate"/> without zeroing large buffers, for results every element of which is written.</summary>
    internal static TensorData AllocateUninitialized(Shape shape, DType dtype)
    {
        var t = new TensorData { DType = dtype, Shape = shape, Length = shape.Size };
        if (dtype == DType.Float32) t.F = GC.AllocateUninitializedArray<float>(t.Length);
        else t.D = GC.AllocateUninitializedArray<double>(t.Length);
        return t;
    }

    public static bool IsSupported<T>() => typeof(T) == typeof(float) || typeof(T) == typeof(double);

    public static DType DTypeOf<T>() =>
        typeof(T) == typeof(float) ? DType.Float32
        : typeof(T) == typeof(double) ? DType.Float64
        : throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float or double.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Span<T>()
    {
        if (typeof(T) == typeof(float))
        {
            Check(DType.Float32);
            return MemoryMarshal.CreateSpan(ref Unsafe.As<float, T>(ref MemoryMarshal.GetArrayDataReference(F!)), F!.Length).Slice(Offset, Length);
        }
        if (typeof(T) == typeof(double))
        {
            Check(DType.Float64);
            return MemoryMarshal.CreateSpan(ref Unsafe.As<double, T>(ref MemoryMarshal.GetArrayDataReference(D!)), D!.Length).Slice(Offset, Length);
        }
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Check(DType expected)
    {
        if (DType != expected) ThrowDType(expected);
    }

    private void ThrowDType(DType expected) =>
        throw new InvalidOperationException($"Tensor of shape {Shape} holds {DType}, not {expected}.");
}
