namespace Demi.Transport.Xdp;

/// <summary>One end of a <see cref="VethNamespaces"/> pair.</summary>
public enum VethSide
{
    /// <summary>Namespace A: by convention where Demi runs.</summary>
    A,
    /// <summary>Namespace B: by convention the kernel peer (or a second Demi).</summary>
    B,
}
