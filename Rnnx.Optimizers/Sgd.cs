using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rnnx.Optimization;
using Rnnx.Simd;

namespace Rnnx.Optimizers;

/// <summary>Gradient descent with optional (Nesterov) momentum, exactly as Keras's <c>SGD</c> computes it.</summary>
/// <remarks>
/// <para>Source read: keras-team/keras <c>keras/src/optimizers/sgd.py</c>. With momentum μ = 0 there is no slot and
/// θ ← θ − g·lr. With μ &gt; 0 the slot <c>momentum</c> (velocity, starting at 0) is updated as
/// v ← v·μ − g·lr, then θ ← θ + v, or with Nesterov θ ← θ + (v·μ − g·lr) using the new v.
/// Float32 parameters compute in float32 with μ and lr rounded to float32; float64 parameters in double.</para>
/// </remarks>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates an SGD optimizer; the defaults are Keras's.</summary>
    /// <param name="learningRate">Learning rate (finite, ≥ 0).</param>
    /// <param name="momentum">Momentum μ in [0, 1]; 0 is plain gradient descent.</param>
    /// <param name="nesterov">Use Nesterov momentum (has no effect when <paramref name="momentum"/> is 0, as in Keras).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    public Sgd(double learningRate = 0.01, double momentum = 0.0, bool nesterov = false)
        : base(learningRate, momentum != 0 ? ["momentum"] : [])
    {
        CheckRange(momentum, 0, 1, nameof(momentum));
        Momentum = momentum;
        Nesterov = nesterov;
    }

    /// <summary>Momentum μ.</summary>
    public double Momentum { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc/>
    protected override void WriteConfig(OptimizerConfig config) =>
        config.Set("momentum", Momentum).Set("nesterov", Nesterov);

    /// <inheritdoc/>
    protected override void Update(in ParameterUpdate<float> update) => Apply(update);

    /// <inheritdoc/>
    protected override void Update(in ParameterUpdate<double> update) => Apply(update);

    private void Apply<T>(in ParameterUpdate<T> u) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool hasMomentum = Momentum != 0;
        var k = new Kernel<T>(u.Value, u.GradientSource, hasMomentum ? u.Slot(0) : default, u.LearningRate, T.CreateTruncating(Momentum), hasMomentum, Nesterov);
        ElementwiseLoop.Run<T, Kernel<T>>(ref k);
    }

    private readonly ref struct Kernel<T>(Span<T> theta, GradientSource<T> g, Span<T> velocity, T learningRate, T momentum, bool hasMomentum, bool nesterov)
        : IElementwiseBody<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly Span<T> _theta = theta, _velocity = velocity;
        private readonly GradientSource<T> _g = g;
        private readonly T _lr = learningRate, _momentum = momentum;
        private readonly bool _hasMomentum = hasMomentum, _nesterov = nesterov;

        public int Length => _theta.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(nint i) where TV : struct, ISimdVector<TV, T>
        {
            ref T thetaRef = ref MemoryMarshal.GetReference(_theta);
            TV g = _g.Load<TV>(i);
            TV theta = TV.Load(ref thetaRef, i);
            TV lr = TV.Create(_lr);
            if (_hasMomentum)
            {
                ref T velocityRef = ref MemoryMarshal.GetReference(_velocity);
                TV mu = TV.Create(_momentum);
                TV v = TV.Load(ref velocityRef, i) * mu - g * lr;
                TV.Store(v, ref velocityRef, i);
                theta += _nesterov ? v * mu - g * lr : v;
            }
            else
            {
                theta -= g * lr;
            }
            TV.Store(theta, ref thetaRef, i);
        }
    }
}
