using System.Numerics;
using System.Runtime.CompilerServices;

namespace Rnnx;

/// <summary>
/// Gradients produced by <see cref="Tape.Backward"/>, or a standalone store that sums several of them
/// (data-parallel shards). Indexed by <see cref="Parameter"/> or by <see cref="Tensor"/>.
/// Buffers are kept and reused from one step to the next, so a training loop allocates nothing here.
/// </summary>
public sealed class Gradients
{
    private sealed class Slot
    {
        public required TensorData Grad;
        public int Stamp;
    }

    private readonly Tape? _tape;
    private readonly Dictionary<TensorData, Slot> _leaves = new(ReferenceEqualityComparer.Instance);
    private int _stamp = 1;
    private bool _valid = true;

    /// <summary>An empty standalone store (use <see cref="Add(Gradients, IReadOnlyList{Parameter}, double)"/> to fill it).</summary>
    public Gradients() { }

    internal Gradients(Tape tape)
    {
        _tape = tape;
        _valid = false;
    }

    internal void Begin(int stamp)
    {
        _stamp = stamp;
        _valid = true;
        if (_leaves.Count > 4096) _leaves.Clear();   // leaves created per step and never seen again
    }

    internal void Invalidate() => _valid = false;

    /// <summary>Forgets all gradients (they read as zero) while keeping the buffers for reuse.</summary>
    public void Clear()
    {
        if (_tape is not null) throw new InvalidOperationException("Gradients.Clear: only a standalone store can be cleared; a tape's gradients are cleared by Tape.Reset().");
        _stamp++;
    }

    private void CheckValid()
    {
        if (!_valid) throw new InvalidOperationException("Gradients: these gradients belong to a tape that was reset or has not run Backward yet.");
    }

    private static void ThrowIfReleased(TensorData d)
    {
        if (d.GradReleased)
            throw new InvalidOperationException($"Gradients: the gradient of the intermediate tensor of shape {d.Shape} was released during backward (Tape.ReleaseIntermediateGradients); clear that flag to read intermediates' gradients.");
    }

    internal bool HasLeaf(TensorData t) => _leaves.TryGetValue(t, out var s) && s.Stamp == _stamp;

    internal Span<T> Leaf<T>(TensorData t) where T : unmanaged
    {
        if (!_leaves.TryGetValue(t, out var slot) || slot.Grad.DType != t.DType || slot.Grad.Shape != t.Shape)
        {
            slot = new Slot { Grad = TensorData.Allocate(t.Shape, t.DType, false), Stamp = _stamp };
            _leaves[t] = slot;
            return slot.Grad.Span<T>();
        }
        var span = slot.Grad.Span<T>();
        if (slot.Stamp != _stamp)
        {
            span.Clear();
            slot.Stamp = _stamp;
        }
        return span;
    }

    /// <summary>True when <paramref name="tensor"/> received a gradient in this pass.</summary>
    /// <exception cref="InvalidOperationException">An intermediate whose gradient the tape released (<see cref="Tape.ReleaseIntermediateGradients"/>).</exception>
    public bool Contains(Tensor tensor)
    {
        CheckValid();
        var d = tensor.DataWithoutValue;   // an intermediate whose value the backward gave back still has its gradient
        if (_tape is not null && d.Owner == _tape)
        {
            ThrowIfReleased(d);
            return _tape.HasGrad(d);
        }
        return HasLeaf(d);
    }

    /// <summary>True when <paramref name="parameter"/> received a gradient in this pass.</summary>
    public bool Contains(Parameter parameter) => Contains(parameter.Value);

    /// <summary>
    /// The gradient of <paramref name="tensor"/> (same shape and dtype). A tensor that requires a gradient but did not
    /// contribute to the output gets zeros. For a leaf (a parameter or a watched input) the result is this store's own
    /// buffer, overwritten by the next <see cref="Tape.Backward"/>; copy it to keep it. For an intermediate tensor of
    /// the tape it is a copy.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor does not require a gradient, or it is an intermediate whose gradient the tape released (<see cref="Tape.ReleaseIntermediateGradients"/>).</exception>
    public Tensor this[Tensor tensor]
    {
        get
        {
            CheckValid();
            var d = tensor.DataWithoutValue;   // an intermediate whose value the backward gave back still has its gradient
            if (!d.RequiresGrad)
                throw new InvalidOperationException($"Gradients: the tensor of shape {d.Shape} does not require a gradient; mark inputs with RequireGrad() before recording.");
            if (_tape is not null && d.Owner == _tape)
            {
                ThrowIfReleased(d);
                var g = TensorData.Allocate(d.Shape, d.DType, false);
                if (d.DType == DType.Float32) _tape.Grad<float>(d).CopyTo(g.Span<float>());
                else _tape.Grad<double>(d).CopyTo(g.Span<double>());
                return new Tensor(g);
            }
            if (d.DType == DType.Float32) Leaf<float>(d);
            else Leaf<double>(d);
            return new Tensor(_leaves[d].Grad);
        }
    }

    /// <summary>The gradient of a parameter (zeros when it did not contribute).</summary>
    public Tensor this[Parameter parameter] => this[parameter.Value];

    /// <summary>
    /// The gradient buffer of <paramref name="parameter"/> as <typeparamref name="T"/> (zeros if it did not contribute).
    /// Optimizers read it; callers may modify it (clipping) before the optimizer step.
    /// </summary>
    public Span<T> GetSpan<T>(Parameter parameter) where T : unmanaged
    {
        CheckValid();
        return Leaf<T>(parameter.Value.Data);
    }

    /// <summary>
    /// Adds <paramref name="scale"/> times <paramref name="other"/>'s gradient of each parameter into this store,
    /// in list order (a fixed order, so sums are deterministic).
    /// </summary>
    public void Add(Gradients other, IReadOnlyList<Parameter> parameters, double scale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(other);
        ArgumentNullException.ThrowIfNull(parameters);
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p.DType == DType.Float32) AddOne<float>(other, p, scale);
            else AddOne<double>(other, p, scale);
        }
    }

    private void AddOne<T>(Gradients other, Parameter p, double scale) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dst = GetSpan<T>(p);
        var src = other.GetSpan<T>(p);
        if (scale == 1.0) Kernels.Elementwise.AddInPlace(dst, src);
        else Kernels.Elementwise.AddScaledInPlace(dst, src, T.CreateChecked(scale));
    }

    /// <summary>
    /// Whether <see cref="GlobalNorm"/> of <paramref name="parameters"/> is finite, found in one vectorized pass over
    /// float32 gradients: their squares are below 2^256, so the double sum of fewer than 2^31 of them cannot overflow
    /// and the norm is finite exactly when every value is. Float64 gradients can overflow the sum, so with any of them
    /// the norm itself is computed.
    /// </summary>
    public bool HasFiniteNorm(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        bool anyDouble = false;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p.DType != DType.Float32) anyDouble = true;
            else if (!Kernels.ReductionKernels.AllFinite<float>(GetSpan<float>(p))) return false;
        }
        return !anyDouble || double.IsFinite(GlobalNorm(parameters));
    }

    /// <summary>The most stores <see cref="Float32SummableOver"/> bounds a sum of (2^20: the scale stays a float32 power of two).</summary>
    public const int MaxSummedStores = 1 << 20;

    /// <summary>
    /// Whether every parameter is float32 and every value v of its gradient keeps v·2^k finite, 2^k the power of two
    /// at or above 2·<paramref name="stores"/>: then |v| &lt; 2^127 / stores, and the float32 sum of that many such
    /// gradients, in any order of additions, stays below 2^127, finite. This checks a data-parallel step's summed
    /// gradient before the sum exists, each shard reading its own gradient once, on its own thread.
    /// </summary>
    /// <param name="parameters">The parameters whose gradients are checked.</param>
    /// <param name="stores">How many stores' gradients will be summed (at least 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stores"/> is less than 1 or more than 2^20.</exception>
    public bool Float32SummableOver(IReadOnlyList<Parameter> parameters, int stores)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(stores, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stores, MaxSummedStores);
        float scale = (float)BitOperations.RoundUpToPowerOf2(2u * (uint)stores);
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p.DType != DType.Float32) return false;
            if (!Kernels.ReductionKernels.AllFiniteAfterScaling<float>(GetSpan<float>(p), scale)) return false;
        }
        return true;
    }

    /// <summary>The global L2 norm of the parameters' gradients, accumulated in double.</summary>
    public double GlobalNorm(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double s = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p.DType == DType.Float32)
            {
                foreach (var v in GetSpan<float>(p)) s += (double)v * v;
            }
            else
            {
                foreach (var v in GetSpan<double>(p)) s += v * v;
            }
        }
        return Math.Sqrt(s);
    }
}
