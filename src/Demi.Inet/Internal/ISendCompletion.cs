namespace Demi.Inet.Internal;

/// <summary>Told the outcome of a send that had to wait for address resolution.</summary>
internal interface ISendCompletion
{
    void OnSendCompleted(ulong tag, int errno);
}
