using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rnnx.Optimization;
using Rnnx.Simd;

namespace Rnnx.Optimizers;

/// <summary>The Adam optimizer (Kingma and Ba, 2014), exactly as Keras computes it, with optional AMSGrad.</summary>
/// <remarks>
/// <para>Source read: keras-team/keras <c>keras/src/optimizers/adam.py</c> (Keras 3; legacy tf.keras computes the same
/// update through <c>ResourceApplyAdam</c>). Slots: <c>momentum</c> (m), <c>velocity</c> (v) and, with AMSGrad,
/// <c>velocity_hat</c> (v̂), all starting at 0. Step t:</para>
/// <list type="bullet">
/// <item>α = lr·√(1 − β2^t) / (1 − β1^t) (once per step);</item>
/// <item>m ← m + (g − m)·(1 − β1); v ← v + (g² − v)·(1 − β2);</item>
/// <item>AMSGrad: v̂ ← max(v̂, v), and v̂ replaces v below;</item>
/// <item>θ ← θ − m·α / (√v + ε). ε is added to the un-corrected √v, unlike <see cref="Nadam"/>.</item>
/// </list>
/// <para>Float32 parameters: β1, β2, ε and lr are rounded to float32, β^t is a float32 power and α is computed in
/// float32; 1 − β1 and 1 − β2 are computed in double (Python floats) and then rounded (0.1f and 0.001f for the
/// defaults), exactly as Keras's <c>1 - self.beta_1</c>. Float64 parameters use the same formulas in double.</para>
/// </remarks>
public sealed class Adam : Optimizer
{
    private Coefficients<float> _cf;
    private Coefficients<double> _cd;

    /// <summary>Creates an Adam optimizer; the defaults are Keras's.</summary>
    /// <param name="learningRate">Learning rate (finite, ≥ 0).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="epsilon">Added to √v, ≥ 0.</param>
    /// <param name="amsgrad">Use the AMSGrad variant (Reddi et al., 2018): divide by the running maximum of v.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    public Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, bool amsgrad = false)
        : base(learningRate, amsgrad ? ["momentum", "velocity", "velocity_hat"] : ["momentum", "velocity"])
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "'beta1' must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "'beta2' must be in [0, 1).");
        CheckNonNegative(epsilon, nameof(epsilon));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        Amsgrad = amsgrad;
    }

    /// <summary>Decay of the first-moment average (β1).</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment average (β2).</summary>
    public double Beta2 { get; }

    /// <summary>ε, added to √v.</summary>
    public double Epsilon { get; }

    /// <summary>Whether the AMSGrad variant is used.</summary>
    public bool Amsgrad { get; }

    /// <inheritdoc/>
    /// <remarks>velocity (and velocity_hat with amsgrad) are running means of squared gradients.</remarks>
    protected override bool IsNonNegativeSlot(int index) => index >= 1;

    /// <inheritdoc/>
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc/>
    protected override void WriteConfig(OptimizerConfig config) =>
        config.Set("beta1", Beta1).Set("beta2", Beta2).Set("epsilon", Epsilon).Set("amsgrad", Amsgrad);

    /// <inheritdoc/>
    protected override void PrepareStep(long step, double learningRate)
    {
        _cf = Prepare<float>(step, learningRate);
        _cd = Prepare<double>(step, learningRate);
    }

    /// <inheritdoc/>
    protected override void Update(in ParameterUpdate<float> update) => Apply(update, _cf);

    /// <inheritdoc/>
    protected override void Update(in ParameterUpdate<double> update) => Apply(update, _cd);

    private struct Coefficients<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T OneMinusBeta1, OneMinusBeta2, Alpha, Epsilon;
    }

    private Coefficients<T> Prepare<T>(long step, double learningRate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T t = T.CreateTruncating(step);
        T beta1Power = T.Pow(T.CreateTruncating(Beta1), t);
        T beta2Power = T.Pow(T.CreateTruncating(Beta2), t);
        T lr = T.CreateTruncating(learningRate);
        return new Coefficients<T>
        {
            OneMinusBeta1 = T.CreateTruncating(1 - Beta1),
            OneMinusBeta2 = T.CreateTruncating(1 - Beta2),
            Alpha = lr * T.Sqrt(T.One - beta2Power) / (T.One - beta1Power),
            Epsilon = T.CreateTruncating(Epsilon),
        };
    }

    private void Apply<T>(in ParameterUpdate<T> u, in Coefficients<T> c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var k = new Kernel<T>(u.Value, u.GradientSource, u.Slot(0), u.Slot(1), Amsgrad ? u.Slot(2) : default, Amsgrad, c);
        ElementwiseLoop.Run<T, Kernel<T>>(ref k);
    }

    private readonly ref struct Kernel<T>(Span<T> theta, GradientSource<T> g, Span<T> m, Span<T> v, Span<T> vHat, bool amsgrad, in Coefficients<T> c)
        : IElementwiseBody<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly Span<T> _theta = theta, _m = m, _v = v, _vHat = vHat;
        private readonly GradientSource<T> _g = g;
        private readonly bool _amsgrad = amsgrad;
        private readonly Coefficients<T> _c = c;

        public int Length => _theta.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(nint i) where TV : struct, ISimdVector<TV, T>
        {
            ref T thetaRef = ref MemoryMarshal.GetReference(_theta);
            ref T mRef = ref MemoryMarshal.GetReference(_m);
            ref T vRef = ref MemoryMarshal.GetReference(_v);
            TV g = _g.Load<TV>(i);
            TV m = TV.Load(ref mRef, i);
            TV v = TV.Load(ref vRef, i);
            m += (g - m) * TV.Create(_c.OneMinusBeta1);
            v += (g * g - v) * TV.Create(_c.OneMinusBeta2);
            TV.Store(m, ref mRef, i);
            TV.Store(v, ref vRef, i);
            if (_amsgrad)
            {
                ref T vHatRef = ref MemoryMarshal.GetReference(_vHat);
                v = TV.Max(TV.Load(ref vHatRef, i), v);
                TV.Store(v, ref vHatRef, i);
            }
            TV theta = TV.Load(ref thetaRef, i) - m * TV.Create(_c.Alpha) / (TV.Sqrt(v) + TV.Create(_c.Epsilon));
            TV.Store(theta, ref thetaRef, i);
        }
    }
}
