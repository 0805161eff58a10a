using System.Runtime.CompilerServices;

namespace Rnnx.Optimizers;

/// <summary>
/// The optimizer state of one parameter: its slot arrays (zero-initialized, created once, sized to the parameter) and a
/// scratch buffer for the clipped gradient (created on the first clipped step).
/// </summary>
internal sealed class SlotSet
{
    private readonly float[][]? _f;
    private readonly double[][]? _d;
    private float[]? _scratchF;
    private double[]? _scratchD;

    public SlotSet(Parameter parameter, int slotCount)
    {
        DType = parameter.DType;
        Shape = parameter.Shape;
        Size = parameter.Size;
        if (DType == DType.Float32)
        {
            _f = new float[slotCount][];
            for (int i = 0; i < slotCount; i++) _f[i] = new float[Size];
        }
        else
        {
            _d = new double[slotCount][];
            for (int i = 0; i < slotCount; i++) _d[i] = new double[Size];
        }
    }

    public DType DType { get; }

    public Shape Shape { get; }

    public int Size { get; }

    /// <summary>The number of the last <see cref="Optimizer.Step(IReadOnlyList{Parameter}, Gradients)"/> call (of either overload) that validated this parameter (detects duplicates in one list).</summary>
    public long Stamp { get; set; }

    public float[] Float32(int index) => _f![index];

    public double[] Float64(int index) => _d![index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Slot<T>(int index)
    {
        if (typeof(T) == typeof(float)) return Unsafe.As<T[]>(_f![index]);
        if (typeof(T) == typeof(double)) return Unsafe.As<T[]>(_d![index]);
        throw new NotSupportedException(typeof(T).Name);
    }

    public Span<T> Scratch<T>()
    {
        if (typeof(T) == typeof(float)) return Unsafe.As<T[]>(_scratchF ??= new float[Size]);
        if (typeof(T) == typeof(double)) return Unsafe.As<T[]>(_scratchD ??= new double[Size]);
        throw new NotSupportedException(typeof(T).Name);
    }

    /// <summary>True when this state still fits <paramref name="parameter"/> (same dtype and shape).</summary>
    public bool Fits(Parameter parameter) => parameter.DType == DType && parameter.Shape == Shape;
}
